package ultimatetest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/crmbridge/crmbridge/shared/webhookauth"
)

// DefaultSessionTimeout is the documented inactivity timeout ("after 2
// hours or preconfigured timeout").
const DefaultSessionTimeout = 2 * time.Hour

// Agent is one AI agent (bot) the fake serves.
type Agent struct {
	// ID is the bot ID: callers send it in the botid header, webhooks carry
	// it as botId.
	ID string
	// APIKey is the Custom-CRM API key, compared with the whole
	// Authorization header (the contract has no "Bearer").
	APIKey string
	// WebhookURL receives converse webhooks, and action webhooks unless
	// ActionURL is set.
	WebhookURL string
	// WebhookAuth and WebhookSecret authenticate every webhook call, the
	// same way our side's configuration for this agent expects.
	WebhookAuth   webhookauth.Scheme
	WebhookSecret string
	// ActionURL receives action webhooks; empty means WebhookURL. Older
	// docs configure a separate actions URL, the current dashboard one URL.
	ActionURL string
}

// Options configure a Server.
type Options struct {
	Agents []Agent
	// Now is the clock for session activity and expiry; nil means
	// time.Now. Retry backoff always uses real time.
	Now func() time.Time
	// SessionTimeout is the inactivity after which a session ends; zero
	// means DefaultSessionTimeout.
	SessionTimeout time.Duration
	// HTTP sends the webhooks; nil means a client with a 10 s timeout.
	HTTP *http.Client
	// Log receives one line per accepted request and per webhook; nil
	// discards. Visitor text and parameter values appear only at debug
	// level, and sanitized parameters never.
	Log *slog.Logger
}

// Server is the fake AI agent. Its methods are safe for concurrent use.
type Server struct {
	agents  map[string]Agent
	now     func() time.Time
	timeout time.Duration
	client  *http.Client
	log     *slog.Logger
	rules   []rule

	// ctx bounds webhook deliveries; Close cancels it.
	ctx     context.Context
	cancel  context.CancelFunc
	workers sync.WaitGroup

	mu         sync.Mutex
	convs      map[convKey]*conversation
	received   []Received
	deliveries []Delivery
	pending    int           // queued or running jobs, over all conversations
	idle       chan struct{} // non-nil while pending > 0; closed when it drops to 0
	closed     bool
	srv        *http.Server
}

// New returns a Server for opts. Like httptest, it panics on a programming
// error: an agent without ID or APIKey, a duplicate ID, or a webhook scheme
// that fails webhookauth validation or lacks its secret.
func New(opts Options) *Server {
	s := &Server{
		agents:  make(map[string]Agent, len(opts.Agents)),
		now:     opts.Now,
		timeout: opts.SessionTimeout,
		client:  opts.HTTP,
		log:     opts.Log,
		rules:   dialogue(),
		convs:   make(map[convKey]*conversation),
	}
	for _, a := range opts.Agents {
		if err := checkAgent(a); err != nil {
			panic("ultimatetest: " + err.Error())
		}
		if _, dup := s.agents[a.ID]; dup {
			panic(fmt.Sprintf("ultimatetest: duplicate agent ID %q", a.ID))
		}
		s.agents[a.ID] = a
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.timeout <= 0 {
		s.timeout = DefaultSessionTimeout
	}
	if s.client == nil {
		s.client = &http.Client{Timeout: 10 * time.Second}
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	return s
}

func checkAgent(a Agent) error {
	if a.ID == "" || a.APIKey == "" {
		return errors.New("an agent needs an ID and an APIKey")
	}
	if err := a.WebhookAuth.Validate(); err != nil {
		return fmt.Errorf("agent %s: %w (use webhookauth.SchemeNone for unauthenticated webhooks)", a.ID, err)
	}
	if a.WebhookAuth.Kind != webhookauth.SchemeNone && a.WebhookSecret == "" {
		return fmt.Errorf("agent %s: webhook scheme %s needs a WebhookSecret", a.ID, a.WebhookAuth.Kind)
	}
	return nil
}

// Start serves the fake on a real listener and returns its base URL. An
// empty host in addr (or an empty addr) means 127.0.0.1, never all
// interfaces; port 0 picks a free port.
func (s *Server) Start(addr string) (string, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("ultimatetest: listen address %q: %w", addr, err)
	}
	if host == "" {
		host = "127.0.0.1"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.srv != nil {
		return "", errors.New("ultimatetest: server already started or closed")
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(host, port))
	if err != nil {
		return "", fmt.Errorf("ultimatetest: %w", err)
	}
	s.srv = &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 5 * time.Second}
	go func(srv *http.Server) { _ = srv.Serve(ln) }(s.srv)
	s.log.Info("fake AI agent listening", slog.String("url", "http://"+ln.Addr().String()))
	return "http://" + ln.Addr().String(), nil
}

// Close stops the listener (if Start was called), aborts webhooks in flight
// and waits for the conversation workers to exit. Requests after Close are
// answered 503. Close is idempotent.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	srv := s.srv
	s.mu.Unlock()
	s.cancel()
	var err error
	if srv != nil {
		err = srv.Close()
	}
	s.workers.Wait()
	return err
}

// WaitIdle blocks until no webhook is queued or in flight, or ctx ends.
func (s *Server) WaitIdle(ctx context.Context) error {
	for {
		s.mu.Lock()
		ch := s.idle
		s.mu.Unlock()
		if ch == nil {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
