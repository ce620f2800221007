// Package sourcetest is a fake chat platform for the handlers' unit tests:
// an adapter with every capability the handlers look up (inbound webhooks,
// sending, handover, team status, built-in actions, a widget desk,
// closing), which records each call and fails the ones a test names. Its
// inbound contract is its own and minimal: a bearer token equal to the
// account's credentials, and a JSON body {"events":[{"id","conversation",
// "text"}]}; an event may name its "kind" (a source.EventKind, default
// message), "user" fields, "agent" (a desk agent's name) and "mustBeNew".
package sourcetest

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/crmbridge/crmbridge/shared/apigw"
	"github.com/crmbridge/crmbridge/shared/source"
	"github.com/crmbridge/crmbridge/shared/ultimate"
)

// Name is the fake platform's source name.
const Name = "fakechat"

// Call is one thing the bridge asked of the platform.
type Call struct {
	Op      string // send, escalate, teamOnline, builtin, widgetEscalate, widgetMessage, widgetEnd, close
	PCID    string
	Message ultimate.Message // send
	Target  string           // escalate: escalateTo; builtin: which; teamOnline: the team
	Text    string           // widgetMessage
	// Handover is the request of escalate and widgetEscalate.
	Handover source.HandoverRequest
}

// Platform is safe for concurrent use.
type Platform struct {
	// Fail returns the error for an operation, or nil to succeed.
	Fail func(op string) error
	// Online answers teamOnline.
	Online bool
	// Results answers builtin.
	Results []ultimate.ActionResult

	mu    sync.Mutex
	calls []Call
}

var (
	_ source.Inbound     = (*Platform)(nil)
	_ source.Sender      = (*Platform)(nil)
	_ source.Escalator   = (*Platform)(nil)
	_ source.TeamChecker = (*Platform)(nil)
	_ source.Builtins    = (*Platform)(nil)
	_ source.Desk        = (*Platform)(nil)
	_ source.Closer      = (*Platform)(nil)
)

// Calls returns what was asked so far.
func (p *Platform) Calls() []Call {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Call(nil), p.calls...)
}

func (p *Platform) record(c Call) error {
	p.mu.Lock()
	p.calls = append(p.calls, c)
	p.mu.Unlock()
	if p.Fail != nil {
		return p.Fail(c.Op)
	}
	return nil
}

// Name implements source.Adapter.
func (p *Platform) Name() string { return Name }

// ParseSettings implements source.Adapter: settings must be a JSON object
// (or absent); the account carries the decoded map.
func (p *Platform) ParseSettings(raw json.RawMessage) (any, error) {
	m := map[string]any{}
	if len(raw) == 0 {
		return m, nil
	}
	if json.Unmarshal(raw, &m) != nil || m == nil {
		return nil, errors.New("settings: must be an object")
	}
	return m, nil
}

// ValidateCredentials implements source.Adapter: any non-empty token.
func (p *Platform) ValidateCredentials(b []byte) error {
	if len(b) == 0 {
		return errors.New("credentials: empty")
	}
	return nil
}

// Budget implements source.Inbound.
func (p *Platform) Budget() time.Duration { return 5 * time.Second }

// Authenticate implements source.Inbound.
func (p *Platform) Authenticate(req *apigw.Request, acct *source.Account, _ time.Time) error {
	if len(acct.Credentials) == 0 || req.HeaderValue("Authorization") != "Bearer "+string(acct.Credentials) {
		return apigw.Errorf(http.StatusUnauthorized, "bad_credentials", "bearer token does not match")
	}
	return nil
}

// Parse implements source.Inbound.
func (p *Platform) Parse(req *apigw.Request, _ *source.Account) (*source.Batch, error) {
	var body struct {
		Events []struct {
			ID           string            `json:"id"`
			Kind         source.EventKind  `json:"kind"`
			Conversation string            `json:"conversation"`
			Text         string            `json:"text"`
			User         map[string]string `json:"user"`
			Agent        string            `json:"agent"`
			MustBeNew    bool              `json:"mustBeNew"`
		} `json:"events"`
	}
	if err := json.Unmarshal(req.Body, &body); err != nil {
		return nil, apigw.Errorf(http.StatusBadRequest, "invalid_event", "body: not JSON")
	}
	b := &source.Batch{}
	for _, e := range body.Events {
		kind := e.Kind
		if kind == "" {
			kind = source.Message
		}
		b.Events = append(b.Events, source.Event{
			ID: e.ID, Kind: kind, Conversation: e.Conversation, Text: e.Text, User: e.User,
			Agent: source.DeskAgent{Name: e.Agent}, MustBeNew: e.MustBeNew,
		})
	}
	return b, nil
}

// Send implements source.Sender.
func (p *Platform) Send(_ context.Context, _ *source.Account, conv source.Conversation, msg ultimate.Message, pr *source.Progress) error {
	if err := p.record(Call{Op: "send", PCID: conv.PCID(), Message: msg}); err != nil {
		return err
	}
	if pr != nil {
		pr.Sent = 1
	}
	return nil
}

// Escalate implements source.Escalator.
func (p *Platform) Escalate(_ context.Context, _ *source.Account, conv source.Conversation, req source.HandoverRequest) error {
	return p.record(Call{Op: "escalate", PCID: conv.PCID(), Target: req.EscalateTo, Handover: req})
}

// TeamOnline implements source.TeamChecker.
func (p *Platform) TeamOnline(_ context.Context, acct *source.Account, q source.TeamQuery) (bool, error) {
	err := p.record(Call{Op: "teamOnline", PCID: acct.Source.Source + ":" + acct.Account, Target: q.TeamID})
	return p.Online, err
}

// Builtin implements source.Builtins.
func (p *Platform) Builtin(_ context.Context, _ *source.Account, conv source.Conversation, req source.ActionRequest) ([]ultimate.ActionResult, error) {
	if err := p.record(Call{Op: "builtin", PCID: conv.PCID(), Target: req.Builtin}); err != nil {
		return nil, err
	}
	return append([]ultimate.ActionResult(nil), p.Results...), nil
}

// WidgetEscalate implements source.Desk.
func (p *Platform) WidgetEscalate(_ context.Context, _ *source.Account, conv source.Conversation, req source.HandoverRequest) error {
	return p.record(Call{Op: "widgetEscalate", PCID: conv.PCID(), Target: req.EscalateTo, Handover: req})
}

// WidgetMessage implements source.Desk.
func (p *Platform) WidgetMessage(_ context.Context, _ *source.Account, conv source.Conversation, text string) error {
	return p.record(Call{Op: "widgetMessage", PCID: conv.PCID(), Text: text})
}

// WidgetEndSession implements source.Desk.
func (p *Platform) WidgetEndSession(_ context.Context, _ *source.Account, conv source.Conversation) error {
	return p.record(Call{Op: "widgetEnd", PCID: conv.PCID()})
}

// Close implements source.Closer.
func (p *Platform) Close(_ context.Context, _ *source.Account, conv source.Conversation) error {
	return p.record(Call{Op: "close", PCID: conv.PCID()})
}
