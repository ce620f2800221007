package ultimatetest

import "context"

// job is one step of a conversation's dialogue. It runs on the
// conversation's worker and may send webhooks; each webhook returns before
// the next is sent.
type job func(ctx context.Context)

// enqueue appends j to c's queue, starting a worker if none runs. Each
// conversation has at most one worker, so its webhooks go out strictly in
// order and one at a time, while conversations proceed in parallel. It
// returns false after Close. s.mu must be held.
func (s *Server) enqueue(c *conversation, j job) bool {
	if s.closed {
		return false
	}
	c.jobs = append(c.jobs, j)
	if s.pending == 0 {
		s.idle = make(chan struct{})
	}
	s.pending++
	if !c.running {
		c.running = true
		s.workers.Add(1)
		go s.drain(c)
	}
	return true
}

// drain runs c's jobs until the queue is empty, then exits; the next
// enqueue starts a new worker. Idle conversations therefore cost nothing.
func (s *Server) drain(c *conversation) {
	defer s.workers.Done()
	for {
		s.mu.Lock()
		if len(c.jobs) == 0 {
			c.running = false
			s.mu.Unlock()
			return
		}
		j := c.jobs[0]
		c.jobs[0] = nil
		c.jobs = c.jobs[1:]
		s.mu.Unlock()

		j(s.ctx)

		s.mu.Lock()
		s.pending--
		if s.pending == 0 {
			close(s.idle)
			s.idle = nil
		}
		s.mu.Unlock()
	}
}
