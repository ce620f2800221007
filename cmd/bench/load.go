package main

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"sync"
	"time"

	"github.com/crmbridge/crmbridge/shared/source/generic"
)

// Goals of issue 12 for the load run.
const loadRateGoal = 200.0 // visitor messages per second

// loadResult is the load run's figures.
type loadResult struct {
	messages, conversations, concurrency int
	elapsed                              time.Duration // first send → last echo at the desk
	ackP50, ackP99                       time.Duration // the platform's wait for the bridge's answer
	e2eP50, e2eP99                       time.Duration // send → the AI agent's echo at the desk
	check                                loadCheck
	// acks are the round trips of the visitor messages' HTTP requests;
	// counts what the bridge did from the first send until every echo
	// was delivered (the conversations' starts before it left out).
	acks   []time.Duration
	counts window
}

func (r loadResult) rate() float64 { return float64(r.messages) / r.elapsed.Seconds() }

// loadCheck is what the desk received against what was sent.
type loadCheck struct {
	lost, duplicated, outOfOrder int
}

func (c loadCheck) ok() bool { return c.lost == 0 && c.duplicated == 0 && c.outOfOrder == 0 }

// loadRun sends messages visitor messages over conversations
// conversations through the local HTTP API, concurrency at a time and one
// at a time per conversation (a platform sends a conversation's next
// message once the last was answered), and checks what reached the demo
// desk: each message's echo from the fake AI agent once, in order per
// conversation.
func loadRun(ctx context.Context, b *bench, messages, conversations, concurrency int, progress func(sent int)) (loadResult, error) {
	r := loadResult{messages: messages, conversations: conversations, concurrency: concurrency}
	conv := func(c int) string { return fmt.Sprintf("load-%d", c) }
	// The conversations exist first: the load is messages on known
	// conversations (and the AI agent's welcome is not in the count).
	for c := range conversations {
		if _, err := b.visitor(ctx, generic.TypeConversationStarted, "load-start-"+strconv.Itoa(c), conv(c), ""); err != nil {
			return r, err
		}
	}
	if err := b.idle(ctx); err != nil {
		return r, err
	}
	m := b.mark()
	perConv := make([]int, conversations) // messages of each conversation
	for i := range messages {
		perConv[i%conversations]++
	}
	ready := make(chan int, conversations)
	for c := range conversations {
		ready <- c
	}
	var (
		mu       sync.Mutex
		next     = make([]int, conversations)
		sentAt   = map[string]time.Time{}
		acks     []time.Duration
		firstErr error
		done     int
		wg       sync.WaitGroup
	)
	start := time.Now()
	for range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range ready {
				mu.Lock()
				seq := next[c]
				next[c]++
				mu.Unlock()
				token := fmt.Sprintf("msg-%d-%d", c, seq)
				t0 := time.Now()
				_, err := b.visitor(ctx, generic.TypeMessage, "load-"+token, conv(c), token)
				ack := time.Since(t0)
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = fmt.Errorf("message %s: %w", token, err)
				}
				sentAt[token] = t0
				acks = append(acks, ack)
				done++
				n, failed := done, firstErr != nil
				mu.Unlock()
				if progress != nil && n%1000 == 0 {
					progress(n)
				}
				if n == messages || failed {
					close(ready)
					return
				}
				if seq+1 < perConv[c] {
					ready <- c
				}
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return r, firstErr
	}
	if err := b.idle(ctx); err != nil {
		return r, fmt.Errorf("waiting for the AI agent's answers: %w", err)
	}
	var err error
	if r.counts, err = b.since(m); err != nil {
		return r, err
	}
	r.acks = acks
	received := map[string][]time.Time{}
	var order []string
	last := start
	for _, e := range b.st.Desk.Inbox("") {
		m := tokenRE().FindSubmatch(e.Data)
		if m == nil {
			continue // a welcome
		}
		token := string(m[0])
		received[token] = append(received[token], e.Received)
		order = append(order, token)
		if e.Received.After(last) {
			last = e.Received
		}
	}
	r.check = checkLoad(perConv, order)
	r.elapsed = last.Sub(start)
	var e2e []time.Duration
	for token, at := range received {
		if t0, ok := sentAt[token]; ok {
			e2e = append(e2e, at[0].Sub(t0))
		}
	}
	r.ackP50, r.ackP99 = percentile(acks, 0.5), percentile(acks, 0.99)
	r.e2eP50, r.e2eP99 = percentile(e2e, 0.5), percentile(e2e, 0.99)
	return r, nil
}

var tokenRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`msg-(\d+)-(\d+)`) })

// checkLoad compares the tokens the desk received, in the order received,
// with what was sent: perConv[c] messages of conversation c, numbered from
// 0. A message never received is lost; one received more than once
// duplicated; one received after a later message of its conversation out
// of order.
func checkLoad(perConv []int, received []string) loadCheck {
	var c loadCheck
	seen := map[string]bool{}
	high := make([]int, len(perConv))
	for i := range high {
		high[i] = -1
	}
	for _, token := range received {
		m := tokenRE().FindStringSubmatch(token)
		if m == nil {
			continue
		}
		conv, _ := strconv.Atoi(m[1])
		seq, _ := strconv.Atoi(m[2])
		if conv >= len(perConv) || seq >= perConv[conv] {
			continue // not one of this run's
		}
		if seen[m[0]] {
			c.duplicated++
			continue
		}
		seen[m[0]] = true
		if seq < high[conv] {
			c.outOfOrder++
		}
		high[conv] = max(high[conv], seq)
	}
	for conv, n := range perConv {
		for seq := range n {
			if !seen["msg-"+strconv.Itoa(conv)+"-"+strconv.Itoa(seq)] {
				c.lost++
			}
		}
	}
	return c
}
