// Package cdp drives a headless Chromium through the Chrome DevTools
// Protocol, for the browser tests: launch it, open a page, navigate, run
// JavaScript, wait for the DOM to reach a state, click and type with real
// input events, take a screenshot. It speaks the protocol over the
// browser's WebSocket endpoint with the standard library only.
//
// Waiting is event-driven throughout: the browser is ready when it prints
// its DevTools address, a navigation is done at the page's load event, and
// WaitFor re-checks its condition on DOM mutations, never on a timer.
package cdp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"sync"
	"time"

	"github.com/crmbridge/crmbridge/shared/emulator"
)

// Flags every launch passes: headless, no sandbox (tests run as root in
// containers), and nothing that reaches out to the network on its own (the
// machine's network is closed; Chromium's background fetches would fail
// noisily and slowly).
var Flags = []string{
	"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
	"--disable-component-update", "--disable-sync", "--disable-quic", "--no-first-run",
	"--disable-default-apps", "--disable-extensions", "--mute-audio", "--hide-scrollbars",
	"--remote-debugging-port=0",
}

// Find returns the Chromium executable: $CHROMIUM, else the first of
// chromium, chromium-browser, google-chrome on PATH.
func Find() (string, error) {
	if p := os.Getenv("CHROMIUM"); p != "" {
		return exec.LookPath(p)
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", errors.New("no chromium on PATH (Debian: apt-get install chromium; or set CHROMIUM)")
}

// Options configure Launch.
type Options struct {
	Path        string // the executable; default Find()
	UserDataDir string // required: a fresh, empty profile directory
}

// Browser is a running Chromium and its DevTools connection.
type Browser struct {
	proc *emulator.Process
	ws   *wsConn

	mu      sync.Mutex
	nextID  int64
	pending map[int64]chan reply
	subs    map[subKey][]*Subscription
	err     error // why the connection ended
	done    chan struct{}
}

type subKey struct{ session, method string }

type reply struct {
	result json.RawMessage
	err    error
}

// listening is Chromium's start-up line on stderr.
var listening = regexp.MustCompile(`DevTools listening on (ws://\S+)`)

// Launch starts Chromium and connects to it. Close stops it.
func Launch(ctx context.Context, o Options) (*Browser, error) {
	if o.UserDataDir == "" {
		return nil, errors.New("cdp: UserDataDir is required (a fresh directory per browser)")
	}
	path := o.Path
	if path == "" {
		var err error
		if path, err = Find(); err != nil {
			return nil, err
		}
	}
	args := append(append([]string{}, Flags...), "--user-data-dir="+o.UserDataDir, "about:blank")
	proc, err := emulator.Start(ctx, emulator.Spec{
		Name: "chromium", Path: path, Args: args, Limit: time.Minute,
		Ready: func(line string) (string, bool) {
			m := listening.FindStringSubmatch(line)
			if m == nil {
				return "", false
			}
			return m[1], true
		},
	})
	if err != nil {
		return nil, err
	}
	ws, err := dialWS(ctx, proc.URL)
	if err != nil {
		proc.Stop()
		return nil, err
	}
	b := &Browser{proc: proc, ws: ws, pending: map[int64]chan reply{}, subs: map[subKey][]*Subscription{}, done: make(chan struct{})}
	go b.readLoop()
	return b, nil
}

// Output is the end of what Chromium printed, for a failing test's log.
func (b *Browser) Output() string { return b.proc.Output() }

// Close asks the browser to quit, then stops its process group.
func (b *Browser) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	_ = b.call(ctx, "", "Browser.close", nil, nil)
	cancel()
	_ = b.ws.close()
	b.proc.Stop()
}

// message is one protocol message: a reply (id) or an event (method).
type message struct {
	ID        int64           `json:"id,omitempty"`
	Method    string          `json:"method,omitempty"`
	Params    json.RawMessage `json:"params,omitempty"`
	Result    json.RawMessage `json:"result,omitempty"`
	Error     *protoError     `json:"error,omitempty"`
	SessionID string          `json:"sessionId,omitempty"`
}

type protoError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Data    string `json:"data,omitempty"`
}

func (e *protoError) Error() string {
	if e.Data != "" {
		return fmt.Sprintf("%s (%d): %s", e.Message, e.Code, e.Data)
	}
	return fmt.Sprintf("%s (%d)", e.Message, e.Code)
}

// decodeMessage parses what the browser sent: a reply to one of our calls
// or an event.
func decodeMessage(b []byte) (message, error) {
	var m message
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("cdp: not a protocol message: %w", err)
	}
	if m.ID <= 0 && m.Method == "" {
		return m, errors.New("cdp: message has neither an id nor a method")
	}
	return m, nil
}

func (b *Browser) readLoop() {
	var err error
	for {
		var raw []byte
		if raw, err = b.ws.readMessage(); err != nil {
			break
		}
		m, derr := decodeMessage(raw)
		if derr != nil {
			continue // not ours to act on; the call it might answer times out
		}
		b.mu.Lock()
		if m.ID > 0 {
			if ch, ok := b.pending[m.ID]; ok {
				delete(b.pending, m.ID)
				r := reply{result: m.Result}
				if m.Error != nil {
					r.err = m.Error
				}
				ch <- r
			}
		} else {
			for _, s := range b.subs[subKey{m.SessionID, m.Method}] {
				s.deliver(m.Params)
			}
		}
		b.mu.Unlock()
	}
	b.mu.Lock()
	b.err = fmt.Errorf("cdp: connection to the browser ended: %w", err)
	for id, ch := range b.pending {
		ch <- reply{err: b.err}
		delete(b.pending, id)
	}
	b.mu.Unlock()
	close(b.done)
}

// call sends one command and waits for its reply (or ctx).
func (b *Browser) call(ctx context.Context, session, method string, params, out any) error {
	var p json.RawMessage
	if params != nil {
		var err error
		if p, err = json.Marshal(params); err != nil {
			return fmt.Errorf("cdp %s: %w", method, err)
		}
	}
	ch := make(chan reply, 1)
	b.mu.Lock()
	if b.err != nil {
		b.mu.Unlock()
		return b.err
	}
	b.nextID++
	id := b.nextID
	b.pending[id] = ch
	b.mu.Unlock()
	body, err := json.Marshal(message{ID: id, Method: method, Params: p, SessionID: session})
	if err == nil {
		err = b.ws.writeFrame(opText, body)
	}
	if err != nil {
		b.forget(id)
		return fmt.Errorf("cdp %s: %w", method, err)
	}
	select {
	case r := <-ch:
		if r.err != nil {
			return fmt.Errorf("cdp %s: %w", method, r.err)
		}
		if out != nil {
			if err := json.Unmarshal(r.result, out); err != nil {
				return fmt.Errorf("cdp %s: decode the result: %w", method, err)
			}
		}
		return nil
	case <-ctx.Done():
		b.forget(id)
		return fmt.Errorf("cdp %s: %w", method, ctx.Err())
	}
}

func (b *Browser) forget(id int64) {
	b.mu.Lock()
	delete(b.pending, id)
	b.mu.Unlock()
}

// Subscription receives one event type of one session, from the moment it
// was made: subscribe before the action that causes the event.
type Subscription struct {
	b   *Browser
	key subKey
	C   chan json.RawMessage
	fn  func(json.RawMessage) // instead of C: called in the read loop, in order
}

// deliver is called with b.mu held; a subscriber that fell 256 events
// behind loses the newest rather than stalling the connection.
func (s *Subscription) deliver(params json.RawMessage) {
	if s.fn != nil {
		s.fn(params)
		return
	}
	select {
	case s.C <- params:
	default:
	}
}

func (b *Browser) subscribe(session, method string) *Subscription {
	return b.on(session, method, nil)
}

// on subscribes fn (which must not call the browser) or, for nil, a channel.
func (b *Browser) on(session, method string, fn func(json.RawMessage)) *Subscription {
	s := &Subscription{b: b, key: subKey{session, method}, fn: fn}
	if fn == nil {
		s.C = make(chan json.RawMessage, 256)
	}
	b.mu.Lock()
	b.subs[s.key] = append(b.subs[s.key], s)
	b.mu.Unlock()
	return s
}

// Cancel stops the subscription.
func (s *Subscription) Cancel() {
	s.b.mu.Lock()
	defer s.b.mu.Unlock()
	list := s.b.subs[s.key]
	for i, x := range list {
		if x == s {
			s.b.subs[s.key] = append(list[:i:i], list[i+1:]...)
			break
		}
	}
}

// Next waits for the subscription's next event.
func (s *Subscription) Next(ctx context.Context) (json.RawMessage, error) {
	select {
	case p := <-s.C:
		return p, nil
	case <-s.b.done:
		return nil, s.b.err
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for %s: %w", s.key.method, ctx.Err())
	}
}
