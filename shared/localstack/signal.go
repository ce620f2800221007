package localstack

import "sync"

// Signal tells waiters that something changed. C returns a channel that the
// next Notify closes: take it before reading what it guards, so a change
// between the read and the wait is never missed. Bursts of changes wake a
// waiter once. The zero value is ready to use.
type Signal struct {
	mu sync.Mutex
	ch chan struct{}
}

// C returns the channel closed by the next Notify.
func (s *Signal) C() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ch == nil {
		s.ch = make(chan struct{})
	}
	return s.ch
}

// Notify wakes everyone waiting on C.
func (s *Signal) Notify() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ch != nil {
		close(s.ch)
		s.ch = nil
	}
}

// unlock ends a SerialDB write and tells the playground's feeds that the
// State table changed (a dead letter, a conversation's status, a delivery
// finished).
func (s *SerialDB) unlock() {
	s.mu.Unlock()
	s.Writes.Notify()
}
