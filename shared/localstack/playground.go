package localstack

import (
	"bytes"
	"context"
	"crypto/rand"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/crmbridge/crmbridge/shared/apigw"
	"github.com/crmbridge/crmbridge/shared/inbound"
	"github.com/crmbridge/crmbridge/shared/queue"
	"github.com/crmbridge/crmbridge/shared/route"
	"github.com/crmbridge/crmbridge/shared/source/generic"
	"github.com/crmbridge/crmbridge/shared/state"
	"github.com/crmbridge/crmbridge/shared/stdwebhook"
	"github.com/crmbridge/crmbridge/shared/tenant"
	"github.com/crmbridge/crmbridge/shared/ultimate"
	"github.com/crmbridge/crmbridge/shared/webhookauth"
)

// The browser playground (GET /playground/ on the local API): a chat
// window for the demo tenant's generic account and its desk. The page
// sends visitor and desk events through this file, which signs them as the
// demo tenant and posts them to the stack's own /sources/generic/demo, so
// they take the deployed path. What comes back is read where it lands: the
// demo desk's inbox (the bot's messages, handovers, widget events), the
// fake AI agent's records (what its widget showed the visitor, action
// answers) and the State table (status, dead letters). A feed (server-sent
// events) pushes a fresh view whenever one of them changes: nothing
// assumes a reply comes inside the visitor's request.
//
//	GET  /playground/                      the page (embedded, no build step)
//	GET  /playground/api/view?conversation=ID   the conversation's view, once (JSON)
//	GET  /playground/api/feed?conversation=ID   the same view, pushed on every change (text/event-stream)
//	POST /playground/api/send              {"conversation","type","text"?,"cardIndex"?,"agent"?,"queuePosition"?,"waitMinutes"?}
//	POST /playground/api/desk              {"conversation","outage":bool}: the desk answers that conversation's callbacks 503

//go:embed playground
var playgroundFiles embed.FS

// PlaygroundPath is where the playground is served on the local API.
const PlaygroundPath = "/playground/"

// Bounds: the playground runs on loopback, but nothing it keeps grows
// without limit.
const (
	pgMaxConversations = 256
	pgMaxEntries       = 1000 // sent events kept per conversation
	pgMaxFeeds         = 64   // open feeds at once
	pgMaxBody          = 16 << 10
	pgMaxText          = 4000
)

// pgConversationID is what the playground accepts as a conversation ID: a
// subset of the generic contract's (printable, up to 200 characters) that
// needs no escaping anywhere.
var pgConversationID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// pgTypes are the events the page may send: the visitor's and the desk's
// (the generic contract's inbound types), and what the AI agent's own
// widget sends for a widget-escalated visitor (widgetMessage,
// widgetEndSession: there the visitor chats in the AI agent's widget, not
// on the platform, so the bridge holds the platform's messages).
var pgTypes = map[string]bool{
	generic.TypeConversationStarted: true, generic.TypeMessage: true, generic.TypeConversationEnded: true,
	generic.TypeHandedBack: true, generic.TypeAgentQueue: true, generic.TypeAgentJoined: true,
	generic.TypeAgentMessage: true, generic.TypeAgentLeft: true, generic.TypeAgentFailed: true,
	ultimate.EventWidgetMessage: true, ultimate.EventWidgetEndSession: true,
}

type playground struct {
	once        sync.Once
	initErr     error
	secret      stdwebhook.Secret // the demo account's inboundSecret
	agentSecret string            // the demo agent's webhookSecret, for its widget's events
	files       http.Handler
	client      *http.Client
	closing     chan struct{} // closed when the stack shuts down: feeds end

	desk     Signal // a desk callback arrived
	sends    Signal // a sent event was added or answered
	outcomes Signal // the inbound consumer settled one of the page's events

	mu    sync.Mutex
	convs map[string]*pgConv
	order []string // conversation IDs, oldest first, for eviction
	feeds int
	// down are the conversations (pcid) whose desk callbacks the page set
	// to fail, to show retries and dead letters.
	down map[string]bool
}

type pgConv struct {
	sendMu sync.Mutex // one send at a time: the platform delivers in order
	sent   []*pgSent  // guarded by playground.mu
}

// pgSent is one event the playground posted, and the bridge's answer.
type pgSent struct {
	ID            string          `json:"id"` // the webhook-id
	At            time.Time       `json:"at"`
	Type          string          `json:"type"`
	Text          string          `json:"text,omitempty"`
	CardIndex     *int            `json:"cardIndex,omitempty"`
	Agent         string          `json:"agent,omitempty"`
	QueuePosition *int            `json:"queuePosition,omitempty"`
	WaitMinutes   *int            `json:"waitMinutes,omitempty"`
	Status        int             `json:"status"` // the bridge's HTTP status; 0 while in flight
	Answer        json.RawMessage `json:"answer,omitempty"`
	Error         string          `json:"error,omitempty"` // the bridge could not be reached
	// Delivery is the queue consumer's last outcome for the event once
	// the bridge queued it: sent (the AI agent has it), held (a human had
	// the conversation by then), fallback, retry or dead; empty while it
	// waits in the queue.
	Delivery string `json:"delivery,omitempty"`
}

// observe records the inbound consumer's outcome of one of the page's
// events (app.Delivery.Observe): only events the page sent, in
// conversations it still keeps, so what it holds stays bounded.
func (p *playground) observe(function string, r queue.Record, o queue.Outcome) {
	if function != route.SourceInbound || r.Kind != queue.KindInbound {
		return
	}
	var d inbound.Delivery
	if json.Unmarshal(r.Data, &d) != nil || !strings.HasPrefix(d.Event.ID, "pg_") || r.PCID != pgPCID(d.Event.Conversation) {
		return
	}
	p.mu.Lock()
	c, ok := p.convs[d.Event.Conversation]
	if ok {
		for _, e := range c.sent {
			if e.ID == d.Event.ID {
				e.Delivery = o.Label()
			}
		}
	}
	p.mu.Unlock()
	if ok {
		p.outcomes.Notify()
	}
}

// servePlayground serves the playground and watches the demo desk's
// callbacks for its feeds; it reports whether it handled r.
func (st *Stack) servePlayground(w http.ResponseWriter, r *http.Request) bool {
	switch {
	case r.URL.Path == strings.TrimSuffix(PlaygroundPath, "/"):
		http.Redirect(w, r, PlaygroundPath, http.StatusMovedPermanently)
	case strings.HasPrefix(r.URL.Path, PlaygroundPath):
		st.play.serve(st, w, r)
	case r.URL.Path == "/demo/callback" && st.Desk != nil:
		if !st.play.outage(w, r) {
			st.Desk.ServeHTTP(w, r)
		}
		st.play.desk.Notify()
	default:
		return false
	}
	return true
}

func (p *playground) init(st *Stack) {
	p.mu.Lock()
	p.convs, p.down = map[string]*pgConv{}, map[string]bool{}
	p.mu.Unlock()
	p.closing = make(chan struct{})
	if st.srv != nil {
		st.srv.RegisterOnShutdown(func() { close(p.closing) })
	}
	p.client = &http.Client{Timeout: st.Opts.FunctionTimeout + 10*time.Second}
	sub, err := fs.Sub(playgroundFiles, "playground")
	if err != nil {
		p.initErr = err
		return
	}
	p.files = http.StripPrefix(PlaygroundPath, http.FileServerFS(sub))
	dir := filepath.Join(st.Opts.EventsDir, "tenant")
	var creds generic.Credentials
	if err := readSecretJSON(filepath.Join(dir, "secret-source-generic-"+DemoAccount+".json"), &creds); err != nil {
		p.initErr = fmt.Errorf("the demo account's secret: %w", err)
		return
	}
	if p.secret, err = stdwebhook.ParseSecret(creds.InboundSecret); err != nil {
		p.initErr = fmt.Errorf("the demo account's inboundSecret: %w", err)
		return
	}
	var as tenant.AgentSecret
	if err := readSecretJSON(filepath.Join(dir, "secret-agent-demo.json"), &as); err != nil {
		p.initErr = fmt.Errorf("the demo agent's secret: %w", err)
		return
	}
	p.agentSecret = as.WebhookSecret
}

// readSecretJSON decodes the SecretString of a demo secret file into v.
func readSecretJSON(path string, v any) error {
	sf, err := tenant.ReadSecretFile(path)
	if err != nil {
		return err
	}
	return json.Unmarshal([]byte(sf.SecretString), v)
}

// allow answers 405 unless r uses method.
func allow(w http.ResponseWriter, r *http.Request, method string) bool {
	if r.Method == method {
		return true
	}
	w.Header().Set("Allow", method)
	pgFail(w, http.StatusMethodNotAllowed, "method_not_allowed", method+" "+r.URL.Path)
	return false
}

func (p *playground) serve(st *Stack, w http.ResponseWriter, r *http.Request) {
	p.once.Do(func() { p.init(st) })
	h := w.Header()
	// The page loads only its own files; bot content (links, card images)
	// is data, never markup or script.
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' https: data:; style-src 'self'; script-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	if p.initErr != nil {
		pgFail(w, http.StatusServiceUnavailable, "playground_unavailable", p.initErr.Error())
		return
	}
	switch rest := strings.TrimPrefix(r.URL.Path, PlaygroundPath); {
	case rest == "api/send":
		if allow(w, r, http.MethodPost) {
			p.send(st, w, r)
		}
	case rest == "api/desk":
		if allow(w, r, http.MethodPost) {
			p.setOutage(w, r)
		}
	case rest == "api/view" || rest == "api/feed":
		if !allow(w, r, http.MethodGet) {
			return
		}
		conv := r.URL.Query().Get("conversation")
		if !pgConversationID.MatchString(conv) {
			pgFail(w, http.StatusBadRequest, "invalid_conversation", "conversation must be 1–64 letters, digits, '.', '_' or '-', starting with a letter or digit")
			return
		}
		if rest == "api/view" {
			writeJSON(w, http.StatusOK, p.view(r.Context(), st, conv))
			return
		}
		p.feed(st, w, r, conv)
	case strings.HasPrefix(rest, "api/"):
		pgFail(w, http.StatusNotFound, "route_not_found", "playground: no such API "+r.URL.Path)
	case r.Method != http.MethodGet && r.Method != http.MethodHead:
		h.Set("Allow", "GET, HEAD")
		pgFail(w, http.StatusMethodNotAllowed, "method_not_allowed", "the playground's files are read with GET")
	default:
		p.files.ServeHTTP(w, r)
	}
}

func pgFail(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, apigw.ErrorBody{Error: apigw.ErrorDetail{Code: code, Message: msg}})
}

// pgSendRequest is what the page posts.
type pgSendRequest struct {
	Conversation  string `json:"conversation"`
	Type          string `json:"type"`
	Text          string `json:"text"`
	CardIndex     *int   `json:"cardIndex"`
	Agent         string `json:"agent"`
	QueuePosition *int   `json:"queuePosition"`
	WaitMinutes   *int   `json:"waitMinutes"`
}

// check validates a send request and names the first problem.
func (q *pgSendRequest) check() error {
	switch {
	case !pgConversationID.MatchString(q.Conversation):
		return errors.New("conversation must be 1–64 letters, digits, '.', '_' or '-', starting with a letter or digit")
	case !pgTypes[q.Type]:
		return fmt.Errorf("type %q is not one the playground sends (conversation.started, message, conversation.ended, conversation.handedBack, agent.queueUpdate, agent.joined, agent.message, agent.left, agent.failed, widgetMessage, widgetEndSession)", q.Type)
	case len(q.Text) > pgMaxText:
		return fmt.Errorf("text is over %d bytes", pgMaxText)
	case (q.Type == generic.TypeMessage || q.Type == generic.TypeAgentMessage || q.Type == ultimate.EventWidgetMessage) && strings.TrimSpace(q.Text) == "":
		return fmt.Errorf("text is required for %s", q.Type)
	case q.CardIndex != nil && q.Type != generic.TypeMessage:
		return errors.New("cardIndex belongs to a message (a button click)")
	case q.CardIndex != nil && (*q.CardIndex < 0 || *q.CardIndex > 99):
		return errors.New("cardIndex must be between 0 and 99")
	case q.Type == generic.TypeAgentJoined && (strings.TrimSpace(q.Agent) == "" || len(q.Agent) > 80):
		return errors.New("agent (the desk agent's name, up to 80 bytes) is required for agent.joined")
	case q.Type == generic.TypeAgentQueue && (q.QueuePosition == nil || *q.QueuePosition < 0 || *q.QueuePosition > 9999):
		return errors.New("queuePosition (0–9999) is required for agent.queueUpdate")
	case q.WaitMinutes != nil && (*q.WaitMinutes < 0 || *q.WaitMinutes > 9999):
		return errors.New("waitMinutes must be between 0 and 9999")
	}
	return nil
}

// data is the generic contract's data of the event.
func (q *pgSendRequest) data() generic.InboundData {
	d := generic.InboundData{ConversationID: q.Conversation}
	switch q.Type {
	case generic.TypeConversationStarted:
		// The playground's visitor, with a parameter and personal fields the
		// demo account's metadata rules map and sanitize.
		d.User = map[string]string{"id": "visitor-" + q.Conversation, "name": "Ann Example", "email": "ann@example.com", "locale": "en-US"}
		d.Parameters = map[string]string{"plan": "gold"}
	case generic.TypeMessage, generic.TypeAgentMessage:
		d.Text, d.CardIndex = q.Text, q.CardIndex
	case generic.TypeAgentJoined:
		d.Agent = &generic.AgentInfo{Name: strings.TrimSpace(q.Agent)}
	case generic.TypeAgentQueue:
		d.QueuePosition, d.WaitMinutes = q.QueuePosition, q.WaitMinutes
	}
	return d
}

// send signs the page's event as the demo tenant and posts it to the
// stack's own generic source, recording it and the bridge's answer.
func (p *playground) send(st *Stack, w http.ResponseWriter, r *http.Request) {
	var q pgSendRequest
	if !readBody(w, r, &q) {
		return
	}
	if err := q.check(); err != nil {
		pgFail(w, http.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	c := p.conv(q.Conversation)
	c.sendMu.Lock()
	defer c.sendMu.Unlock()

	now := time.Now()
	e := &pgSent{ID: "pg_" + randomHex(12), At: now, Type: q.Type, Text: q.Text, CardIndex: q.CardIndex,
		Agent: strings.TrimSpace(q.Agent), QueuePosition: q.QueuePosition, WaitMinutes: q.WaitMinutes}
	post := func(ctx context.Context) (int, []byte, error) {
		ev, err := generic.NewEvent(q.Type, q.data(), now)
		if err != nil {
			return 0, nil, fmt.Errorf("encode the event: %w", err)
		}
		return generic.Post(ctx, p.client, st.API+"/sources/generic/"+DemoAccount, p.secret, e.ID, ev, now)
	}
	if q.Type == ultimate.EventWidgetMessage || q.Type == ultimate.EventWidgetEndSession {
		post = func(ctx context.Context) (int, []byte, error) { return p.widgetEvent(ctx, st, q) }
	}
	p.mu.Lock()
	c.sent = append(c.sent, e)
	if len(c.sent) > pgMaxEntries {
		c.sent = slices.Delete(c.sent, 0, len(c.sent)-pgMaxEntries)
	}
	p.mu.Unlock()
	p.sends.Notify()

	status, answer, err := post(r.Context())
	p.mu.Lock()
	e.Status = status
	if err != nil {
		e.Error = "the bridge did not answer: " + err.Error()
	} else if json.Valid(answer) {
		e.Answer = json.RawMessage(answer)
	}
	out := *e
	p.mu.Unlock()
	p.sends.Notify()
	if err != nil {
		pgFail(w, http.StatusBadGateway, "bridge_unreachable", out.Error)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// widgetEvent posts what the AI agent's widget sends for its visitor, a
// converse webhook to /webhooks/message authenticated with the demo
// agent's scheme, as the AI agent itself would.
func (p *playground) widgetEvent(ctx context.Context, st *Stack, q pgSendRequest) (int, []byte, error) {
	agent, err := st.demoAgent(ctx)
	if err != nil {
		return 0, nil, fmt.Errorf("the demo agent's item: %w", err)
	}
	data := map[string]any{"platformConversationId": pgPCID(q.Conversation), "eventType": q.Type}
	if q.Type == ultimate.EventWidgetMessage {
		data["text"] = q.Text
	}
	body, err := json.Marshal(map[string]any{"botId": DemoAgentID, "channel": "chat", "data": data})
	if err != nil {
		return 0, nil, err
	}
	headers, query := webhookauth.Sign(agent.WebhookAuth, p.agentSecret, body)
	u, err := url.Parse(st.API + "/webhooks/message")
	if err != nil {
		return 0, nil, err
	}
	v := u.Query()
	for k, x := range query {
		v.Set(k, x)
	}
	u.RawQuery = v.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	for k, x := range headers {
		req.Header.Set(k, x)
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("post the widget event: %w", err)
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, answer, err
}

// readBody reads a small JSON request body into v, answering the problem
// itself when it cannot.
func readBody(w http.ResponseWriter, r *http.Request, v any) bool {
	body, err := io.ReadAll(io.LimitReader(r.Body, pgMaxBody+1))
	switch {
	case err != nil:
		pgFail(w, http.StatusBadRequest, "bad_request", "could not read the body")
	case len(body) > pgMaxBody:
		pgFail(w, http.StatusRequestEntityTooLarge, "body_too_large", fmt.Sprintf("the body is over %d bytes", pgMaxBody))
	default:
		if err := json.Unmarshal(body, v); err != nil {
			pgFail(w, http.StatusBadRequest, "invalid_request", "the body must be a JSON object: "+apigw.JSONProblem(err))
			return false
		}
		return true
	}
	return false
}

func (p *playground) setOutage(w http.ResponseWriter, r *http.Request) {
	var q struct {
		Conversation string `json:"conversation"`
		Outage       *bool  `json:"outage"`
	}
	if !readBody(w, r, &q) {
		return
	}
	switch {
	case !pgConversationID.MatchString(q.Conversation):
		pgFail(w, http.StatusBadRequest, "invalid_request", "conversation must be 1–64 letters, digits, '.', '_' or '-', starting with a letter or digit")
		return
	case q.Outage == nil:
		pgFail(w, http.StatusBadRequest, "invalid_request", "outage (true or false) is required")
		return
	}
	pcid := pgPCID(q.Conversation)
	p.mu.Lock()
	if *q.Outage {
		if len(p.down) >= pgMaxConversations {
			p.mu.Unlock()
			pgFail(w, http.StatusConflict, "too_many_outages", fmt.Sprintf("at most %d conversations can have a desk outage at once", pgMaxConversations))
			return
		}
		p.down[pcid] = true
	} else {
		delete(p.down, pcid)
	}
	p.mu.Unlock()
	p.sends.Notify()
	writeJSON(w, http.StatusOK, map[string]any{"conversation": q.Conversation, "outage": *q.Outage})
}

// outage answers a desk callback 503 when the page set its conversation's
// desk down, and reports whether it did; otherwise it leaves the body for
// the desk to read.
func (p *playground) outage(w http.ResponseWriter, r *http.Request) bool {
	p.mu.Lock()
	some := len(p.down) > 0
	p.mu.Unlock()
	if !some {
		return false
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return false // the desk answers a body it cannot read
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	var ev struct {
		Data generic.ConversationRef `json:"data"`
	}
	if json.Unmarshal(body, &ev) != nil {
		return false
	}
	p.mu.Lock()
	down := p.down[ev.Data.PlatformConversationID]
	p.mu.Unlock()
	if down {
		pgFail(w, http.StatusServiceUnavailable, "desk_unavailable", "the playground simulates a desk outage for this conversation")
	}
	return down
}

func pgPCID(conv string) string { return generic.Name + ":" + DemoAccount + ":" + conv }

// conv returns the conversation's record, making it (and evicting the
// oldest beyond the bound) when new.
func (p *playground) conv(id string) *pgConv {
	p.mu.Lock()
	defer p.mu.Unlock()
	if c, ok := p.convs[id]; ok {
		return c
	}
	c := &pgConv{}
	p.convs[id] = c
	p.order = append(p.order, id)
	if len(p.order) > pgMaxConversations {
		delete(p.convs, p.order[0])
		p.order = p.order[1:]
	}
	return c
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// pgView is everything the page shows of one conversation.
type pgView struct {
	Conversation string `json:"conversation"`
	PCID         string `json:"pcid"`
	Account      string `json:"account"`
	AgentID      string `json:"agentId"`
	// FakeAgent says the fake AI agent runs: its widget records show what
	// a widget-escalated visitor sees, and its action answers are listed.
	FakeAgent   bool       `json:"fakeAgent"`
	DeskOutage  bool       `json:"deskOutage"` // the page set this conversation's desk down
	Status      *pgStatus  `json:"status"`     // nil until the bridge knows the conversation
	Timeline    []pgItem   `json:"timeline"`
	Actions     []pgAction `json:"actions"`
	DeadLetters []pgDead   `json:"deadLetters"`
	Problems    []string   `json:"problems,omitempty"` // reads that failed
}

type pgStatus struct {
	State      string    `json:"state"` // active | escalated | ended
	HandoverTo string    `json:"handoverTo,omitempty"`
	DeskAgent  string    `json:"deskAgent,omitempty"`
	Updated    time.Time `json:"updated"`
}

// pgItem is one entry of the conversation's timeline, oldest first.
type pgItem struct {
	Key  string    `json:"key"`
	At   time.Time `json:"at"`
	Kind string    `json:"kind"` // sent (the page posted it), callback (the desk received it), widget (the AI agent's widget got it)
	Type string    `json:"type"`
	// Data is the callback's data or the widget event, as the contracts
	// have them.
	Data json.RawMessage `json:"data,omitempty"`
	Sent *pgSent         `json:"sent,omitempty"`
}

type pgAction struct {
	Name    string     `json:"name"`
	Status  int        `json:"status"`
	OK      bool       `json:"ok"`
	Results []pgResult `json:"results"`
	Problem string     `json:"problem,omitempty"`
}

type pgResult struct {
	Key      string `json:"key"`
	Value    string `json:"value"` // "***" when sanitize
	Sanitize bool   `json:"sanitize,omitempty"`
}

type pgDead struct {
	Key      string    `json:"key"`
	Kind     string    `json:"kind"`
	Reason   string    `json:"reason"`
	Attempts int       `json:"attempts"` // times kept: the first, then each failed replay
	Tries    int       `json:"tries"`    // deliveries tried before the last give-up
	DeadAt   time.Time `json:"deadAt"`
}

// view gathers the conversation from where each part lands.
func (p *playground) view(ctx context.Context, st *Stack, conv string) pgView {
	pcid := pgPCID(conv)
	v := pgView{Conversation: conv, PCID: pcid, Account: DemoAccount, AgentID: DemoAgentID, FakeAgent: st.Agent != nil,
		Timeline: []pgItem{}, Actions: []pgAction{}, DeadLetters: []pgDead{}}

	p.mu.Lock()
	v.DeskOutage = p.down[pcid]
	if c, ok := p.convs[conv]; ok {
		for _, e := range c.sent {
			cp := *e
			v.Timeline = append(v.Timeline, pgItem{Key: e.ID, At: e.At, Kind: "sent", Type: e.Type, Sent: &cp})
		}
	}
	p.mu.Unlock()

	for _, e := range st.Desk.Inbox(conv) {
		var ref generic.ConversationRef
		if json.Unmarshal(e.Data, &ref) != nil || ref.PlatformConversationID != pcid {
			continue // another account's conversation of the same ID
		}
		v.Timeline = append(v.Timeline, pgItem{Key: e.WebhookID, At: e.Received, Kind: "callback", Type: e.Type, Data: e.Data})
	}

	if st.Agent != nil {
		for i, r := range st.Agent.Received() {
			if r.Widget == nil || r.Widget.PlatformConversationID != pcid {
				continue
			}
			b, _ := json.Marshal(r.Widget)
			v.Timeline = append(v.Timeline, pgItem{Key: fmt.Sprintf("widget-%d", i), At: r.At, Kind: "widget", Type: r.Widget.EventType, Data: b})
		}
		for _, d := range st.Agent.Deliveries() {
			if d.Kind == ultimate.KindAction && d.PlatformConversationID == pcid {
				v.Actions = append(v.Actions, actionView(d.Event, d.Status, d.OK(), d.Response, d.Err))
			}
		}
	}
	sort.SliceStable(v.Timeline, func(i, j int) bool { return v.Timeline[i].At.Before(v.Timeline[j].At) })

	if st.Deps != nil && st.Deps.State != nil {
		c, err := st.Deps.State.Conversation(ctx, pcid)
		switch {
		case err == nil:
			v.Status = &pgStatus{State: c.Status, HandoverTo: c.HandoverTo, DeskAgent: c.DeskAgent, Updated: c.Updated}
		case !errors.Is(err, state.ErrNoConversation):
			v.Problems = append(v.Problems, "conversation status: "+err.Error())
		}
		for _, kind := range []string{state.DeadInbound, state.DeadOutbound} {
			dls, err := st.Deps.State.DeadLetters(ctx, kind, 100)
			if err != nil {
				v.Problems = append(v.Problems, kind+" dead letters: "+err.Error())
				continue
			}
			for _, dl := range dls {
				if dl.Ref["pcid"] == pcid {
					tries, _ := strconv.Atoi(dl.Ref["receives"])
					v.DeadLetters = append(v.DeadLetters, pgDead{Key: dl.Key, Kind: dl.Kind, Reason: dl.Reason, Attempts: dl.Attempts, Tries: tries, DeadAt: dl.DeadAt})
				}
			}
		}
		sort.SliceStable(v.DeadLetters, func(i, j int) bool { return v.DeadLetters[i].DeadAt.Before(v.DeadLetters[j].DeadAt) })
	}
	return v
}

// actionView is an action webhook's outcome as the AI agent saw it: the
// bridge's status and results, sanitized values masked as the AI agent
// would keep them out of sight.
func actionView(name string, status int, ok bool, answer []byte, sendErr error) pgAction {
	a := pgAction{Name: name, Status: status, OK: ok, Results: []pgResult{}}
	if sendErr != nil {
		a.Problem = "no answer from the bridge"
		return a
	}
	var body struct {
		Results []struct {
			Key      string          `json:"key"`
			Value    json.RawMessage `json:"value"`
			Sanitize bool            `json:"sanitize"`
		} `json:"results"`
		Error *apigw.ErrorDetail `json:"error"`
	}
	if len(bytes.TrimSpace(answer)) > 0 && json.Unmarshal(answer, &body) != nil {
		a.Problem = "the answer is not JSON"
		return a
	}
	if body.Error != nil {
		a.Problem = body.Error.Code + ": " + body.Error.Message
	}
	for _, r := range body.Results {
		val := strings.Trim(string(r.Value), `"`)
		var s string
		if json.Unmarshal(r.Value, &s) == nil {
			val = s
		}
		if r.Sanitize {
			val = "***"
		}
		a.Results = append(a.Results, pgResult{Key: r.Key, Value: val, Sanitize: r.Sanitize})
	}
	return a
}

// feed streams the conversation's view as server-sent events: one at
// once, then one whenever the desk, the page's sends or the State table
// change and the view differs from the last one sent.
func (p *playground) feed(st *Stack, w http.ResponseWriter, r *http.Request, conv string) {
	p.mu.Lock()
	if p.feeds >= pgMaxFeeds {
		p.mu.Unlock()
		pgFail(w, http.StatusServiceUnavailable, "too_many_feeds", fmt.Sprintf("the playground serves at most %d feeds at once; close some tabs", pgMaxFeeds))
		return
	}
	p.feeds++
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		p.feeds--
		p.mu.Unlock()
	}()

	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	if _, err := io.WriteString(w, "retry: 1000\n\n"); err != nil {
		return
	}
	var last []byte
	for {
		// Taken before the read: a change during it wakes the next wait.
		desk, sends, writes, outcomes := p.desk.C(), p.sends.C(), st.Serial.Writes.C(), p.outcomes.C()
		b, err := json.Marshal(p.view(r.Context(), st, conv))
		if err != nil {
			return
		}
		if !bytes.Equal(b, last) {
			if _, err := fmt.Fprintf(w, "event: view\ndata: %s\n\n", b); err != nil {
				return
			}
			if err := rc.Flush(); err != nil {
				return
			}
			last = b
		}
		select {
		case <-desk:
		case <-sends:
		case <-writes:
		case <-outcomes:
		case <-r.Context().Done():
			return
		case <-p.closing:
			return
		}
	}
}
