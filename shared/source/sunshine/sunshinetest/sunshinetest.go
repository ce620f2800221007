// Package sunshinetest is a fake Sunshine Conversations v2 API for one app,
// for tests and the local stack. It checks Basic auth, paths, methods and
// bodies the way the OpenAPI spec describes them, answers with the spec's
// status codes and {"errors":[{"code","title"}]} bodies, records every call,
// can be told to fail (429 with Retry-After, 5xx, 404...), and can play the
// other side: deliver spec-shaped webhooks to a URL as a Zendesk messaging
// visitor would cause them, from Go (Deliver and the event builders) or by
// hand through its loopback control routes (ControlPrefix).
//
// Where the spec is silent the fake picks one behaviour and says so:
// conversation metadata PATCH replaces the whole object, a passControl to an
// unknown switchboard integration is a 400, and a text message takes at
// most MaxActions actions.
package sunshinetest

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Options configure a Server.
type Options struct {
	AppID     string
	KeyID     string
	KeySecret string
	// IntegrationID is the custom integration of the bridge; its
	// switchboard integration (named "crmbridge") is the default responder.
	IntegrationID string
	// MaxActions caps actions on a text message; default 10.
	MaxActions int
	// IncludeFullUser puts user profiles into delivered webhooks.
	IncludeFullUser bool
	// WebhookTarget and WebhookSecret are where the control routes (see
	// ControlPrefix) deliver webhooks: the bridge's
	// /sources/sunshine/{appId} URL and the webhook's shared secret.
	WebhookTarget string
	WebhookSecret string
	// PrivateAttachments makes the app's attachments private: the media
	// URLs of AttachmentURL then need the app's credentials (an
	// authorization header, as the spec's mediaUrl notes say).
	PrivateAttachments bool
	// Now is the clock; nil uses time.Now.
	Now func() time.Time
}

// SwitchboardIntegration is one member of the app's switchboard.
type SwitchboardIntegration struct {
	ID              string `json:"id"`
	Name            string `json:"name"`
	IntegrationID   string `json:"integrationId,omitempty"`
	IntegrationType string `json:"integrationType"`
}

// Names of the two switchboard integrations every fake app has.
const (
	BotSwitchboardName   = "crmbridge"
	AgentSwitchboardName = "zd-agentWorkspace"
	AgentWorkspaceType   = "zd:agentWorkspace"
)

// Call is one request the fake received.
type Call struct {
	Op     string // the spec's operationId, e.g. PostMessage; "" for unknown routes
	Method string
	Path   string
	Body   []byte
	Status int
	Time   time.Time
}

// Fault makes calls of an operation fail with Status (and Retry-After, if
// set) before any other check but auth: Times calls (default 1), after
// letting After calls through.
type Fault struct {
	Status     int
	RetryAfter string
	Code       string
	Title      string
	Times      int
	After      int
}

// Server is the fake API. It is safe for concurrent use.
type Server struct {
	opts Options

	mu          sync.Mutex
	switchboard []SwitchboardIntegration
	users       map[string]*User
	convs       map[string]*Conversation
	calls       []Call
	faults      map[string][]Fault
	seq         int

	httpSrv *http.Server
	ln      net.Listener
}

// New returns a fake app with a switchboard of the bridge (default) and the
// Zendesk Agent Workspace.
func New(o Options) *Server {
	if o.MaxActions <= 0 {
		o.MaxActions = 10
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Server{
		opts: o,
		switchboard: []SwitchboardIntegration{
			{ID: "sbi_" + o.IntegrationID, Name: BotSwitchboardName, IntegrationID: o.IntegrationID, IntegrationType: "custom"},
			{ID: "sbi_agentworkspace", Name: AgentSwitchboardName, IntegrationType: AgentWorkspaceType},
		},
		users:  map[string]*User{},
		convs:  map[string]*Conversation{},
		faults: map[string][]Fault{},
	}
}

// Bot is the bridge's switchboard integration.
func (s *Server) Bot() SwitchboardIntegration { return s.switchboard[0] }

// AgentWorkspace is Zendesk's switchboard integration.
func (s *Server) AgentWorkspace() SwitchboardIntegration { return s.switchboard[1] }

// AppID is the fake app's ID.
func (s *Server) AppID() string { return s.opts.AppID }

// Start serves on a free port of 127.0.0.1 and returns the base URL.
func (s *Server) Start() (string, error) { return s.StartAt("127.0.0.1:0") }

// StartAt serves on addr, which must be a loopback address (the fake has
// unauthenticated control routes), and returns the base URL.
func (s *Server) StartAt(addr string) (string, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("sunshinetest: address %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return "", fmt.Errorf("sunshinetest: %s is not a loopback address", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("sunshinetest: listen: %w", err)
	}
	s.ln = ln
	s.httpSrv = &http.Server{Handler: s, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = s.httpSrv.Serve(ln) }()
	return s.URL(), nil
}

// URL is the base URL after Start.
func (s *Server) URL() string {
	if s.ln == nil {
		return ""
	}
	return "http://" + s.ln.Addr().String()
}

// Close stops a started server.
func (s *Server) Close() error {
	if s.httpSrv == nil {
		return nil
	}
	return s.httpSrv.Close()
}

// Fail queues a fault for an operation (PostMessage, PostActivity,
// PassControl, GetConversation, UpdateConversation, ListMessages,
// ListParticipants, GetUser).
func (s *Server) Fail(op string, f Fault) {
	if f.Times <= 0 {
		f.Times = 1
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[op] = append(s.faults[op], f)
}

// Calls returns the calls received so far, optionally only those of ops.
func (s *Server) Calls(ops ...string) []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Call
	for _, c := range s.calls {
		if len(ops) == 0 || contains(ops, c.Op) {
			out = append(out, c)
		}
	}
	return out
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// apiError is the spec's errorResponse.
type apiError struct {
	status int
	code   string
	title  string
	header map[string]string
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %s: %s", e.status, e.code, e.title) }

func errorf(status int, code, format string, args ...any) *apiError {
	return &apiError{status: status, code: code, title: fmt.Sprintf(format, args...)}
}

func badRequest(format string, args ...any) *apiError {
	return errorf(http.StatusBadRequest, "bad_request", format, args...)
}

// maxBody is SunCo's JSON request limit (100 kB).
const maxBody = 100 << 10

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, ControlPrefix) {
		s.control(w, r)
		return
	}
	if strings.HasPrefix(r.URL.Path, attachmentsPrefix) {
		s.attachment(w, r)
		return
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	op, status, answer := s.serve(r, body)
	s.mu.Lock()
	s.calls = append(s.calls, Call{Op: op, Method: r.Method, Path: r.URL.Path, Body: body, Status: status, Time: s.opts.Now()})
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if e, ok := answer.(*apiError); ok {
		for k, v := range e.header {
			w.Header().Set(k, v)
		}
		answer = map[string]any{"errors": []map[string]string{{"code": e.code, "title": e.title}}}
	}
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(answer)
}

// serve authenticates, applies faults, routes and runs one call.
func (s *Server) serve(r *http.Request, body []byte) (string, int, any) {
	op, handler, params := s.route(r.Method, r.URL.Path)
	fail := func(e *apiError) (string, int, any) { return op, e.status, e }
	if err := s.authorize(r, params["app"]); err != nil {
		return fail(err)
	}
	if op == "" {
		return fail(errorf(http.StatusNotFound, "not_found", "Resource not found"))
	}
	if f, ok := s.takeFault(op); ok {
		e := &apiError{status: f.Status, code: f.Code, title: f.Title}
		if e.code == "" {
			e.code, e.title = defaultFault(f.Status)
		}
		if f.RetryAfter != "" {
			e.header = map[string]string{"Retry-After": f.RetryAfter}
		}
		return fail(e)
	}
	if len(body) > maxBody {
		return fail(errorf(http.StatusRequestEntityTooLarge, "payload_too_large", "Request body exceeds 100kb"))
	}
	var in map[string]any
	if r.Method == http.MethodPost || r.Method == http.MethodPatch {
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			return fail(badRequest("content-type must be application/json"))
		}
		if err := json.Unmarshal(body, &in); err != nil || in == nil {
			return fail(badRequest("Request body must be a JSON object"))
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	status, out, err := handler(params, in)
	if err != nil {
		var e *apiError
		if errors.As(err, &e) {
			return fail(e)
		}
		return fail(errorf(http.StatusInternalServerError, "internal_error", "%v", err))
	}
	return op, status, out
}

func defaultFault(status int) (string, string) {
	switch status {
	case http.StatusTooManyRequests:
		return "too_many_requests", "Rate limit exceeded"
	case http.StatusNotFound:
		return "conversation_not_found", "Conversation not found"
	case http.StatusUnauthorized:
		return "unauthorized", "Authorization is required"
	case http.StatusForbidden:
		return "forbidden", "Forbidden"
	case http.StatusLocked:
		return "locked", "Message limit of 30000 per conversation reached."
	default:
		if status >= 500 {
			return "internal_error", "Internal server error"
		}
		return "bad_request", "Bad request"
	}
}

func (s *Server) takeFault(op string) (Fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.faults[op]
	if len(q) == 0 {
		return Fault{}, false
	}
	if q[0].After > 0 {
		q[0].After--
		return Fault{}, false
	}
	f := q[0]
	q[0].Times--
	if q[0].Times <= 0 {
		s.faults[op] = q[1:]
	}
	return f, true
}

// authorize checks Basic auth with the app's key, in constant time.
func (s *Server) authorize(r *http.Request, app string) *apiError {
	id, secret, ok := r.BasicAuth()
	if !ok || subtle.ConstantTimeCompare([]byte(id), []byte(s.opts.KeyID)) != 1 ||
		subtle.ConstantTimeCompare([]byte(secret), []byte(s.opts.KeySecret)) != 1 {
		return errorf(http.StatusUnauthorized, "unauthorized", "Authorization is required")
	}
	if app != "" && app != s.opts.AppID {
		return errorf(http.StatusForbidden, "forbidden", "The API key cannot access app %s", app)
	}
	return nil
}

type handlerFunc func(params map[string]string, body map[string]any) (int, any, error)

// route maps a path to the spec's operation. Unknown paths and methods are
// a 404, as SunCo answers them.
func (s *Server) route(method, path string) (string, handlerFunc, map[string]string) {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	params := map[string]string{}
	if len(parts) < 4 || parts[0] != "v2" || parts[1] != "apps" {
		return "", nil, params
	}
	params["app"] = parts[2]
	rest := parts[3:]
	switch {
	case rest[0] == "users" && len(rest) == 2 && method == http.MethodGet:
		params["user"] = rest[1]
		return "GetUser", s.getUser, params
	case rest[0] != "conversations" || len(rest) < 2:
		return "", nil, params
	}
	params["conv"] = rest[1]
	sub := strings.Join(rest[2:], "/")
	switch method + " " + sub {
	case "GET ":
		return "GetConversation", s.getConversation, params
	case "PATCH ":
		return "UpdateConversation", s.updateConversation, params
	case "POST messages":
		return "PostMessage", s.postMessage, params
	case "GET messages":
		return "ListMessages", s.listMessages, params
	case "POST activity":
		return "PostActivity", s.postActivity, params
	case "POST passControl":
		return "PassControl", s.passControl, params
	case "GET participants":
		return "ListParticipants", s.listParticipants, params
	}
	return "", nil, params
}

// attachmentsPrefix is where the fake keeps visitors' files (the shape of
// the spec's uploadAttachment example, below the API's base URL).
const attachmentsPrefix = "/sc/attachments/v2/"

// AttachmentURL is the media URL of a file a visitor sent, on the started
// fake; with PrivateAttachments it needs the app's credentials.
func (s *Server) AttachmentURL(name string) string {
	return s.URL() + attachmentsPrefix + NewID() + "/" + name
}

// attachment serves a visitor's file: anyone may fetch it, unless the
// app's attachments are private.
func (s *Server) attachment(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	if s.opts.PrivateAttachments {
		if err := s.authorize(r, ""); err != nil {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(err.status)
			_ = json.NewEncoder(w).Encode(map[string]any{"errors": []map[string]string{{"code": err.code, "title": err.title}}})
			return
		}
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	_, _ = w.Write([]byte("fake attachment"))
}
