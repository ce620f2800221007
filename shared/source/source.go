// Package source defines what a chat platform adapter does for the bridge,
// and the registry the functions find adapters in. Platform specifics live
// only in the adapters below this package (generic, sunshine, liveperson...);
// the handlers speak in the neutral types defined here.
package source

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/crmbridge/crmbridge/shared/apigw"
	"github.com/crmbridge/crmbridge/shared/ids"
	"github.com/crmbridge/crmbridge/shared/tenant"
	"github.com/crmbridge/crmbridge/shared/ultimate"
)

// Conversation identifies a conversation on a platform account. Its PCID
// (platformConversationId) is {source}:{account}:{id}, so a webhook from the
// AI agent routes back to the platform with no lookup.
type Conversation struct {
	Source  string
	Account string
	ID      string
}

// PCID is the platformConversationId sent to the AI agent.
func (c Conversation) PCID() string { return c.Source + ":" + c.Account + ":" + c.ID }

// ErrBadPCID means a platformConversationId is not one of ours.
var ErrBadPCID = errors.New("platformConversationId is not {source}:{account}:{conversation}")

// ParsePCID splits a platformConversationId by the input rules of package
// ids. The conversation part may itself contain colons; source and account
// may not. The error wraps ErrBadPCID and a 400 naming the problem.
func ParsePCID(s string) (Conversation, error) {
	src, acct, id, err := ids.PCID("platformConversationId", s)
	if err != nil {
		return Conversation{}, fmt.Errorf("%w: %w", ErrBadPCID, err)
	}
	return Conversation{Source: src, Account: acct, ID: id}, nil
}

// Account is a source account's configuration with its platform credentials
// (the raw secret value; each adapter decodes its own shape). Its
// Source.Settings holds what the adapter's ParseSettings returned.
type Account struct {
	*tenant.Source
	Credentials []byte
}

// Conversation returns the conversation id on this account.
func (a *Account) Conversation(id string) Conversation {
	return Conversation{Source: a.Source.Source, Account: a.Account, ID: id}
}

// EventKind is what happened on the platform, in neutral terms.
type EventKind string

const (
	Started  EventKind = "started"  // a visitor conversation began → startSession
	Message  EventKind = "message"  // visitor text or a button click → message
	Ended    EventKind = "ended"    // the visitor or platform closed it → endSession
	Metadata EventKind = "metadata" // new user data → metadata
	// HandedBack means the human side handed the conversation back or closed
	// it; the AI agent's session is ended so the next message starts afresh.
	HandedBack EventKind = "handedBack"

	// Desk agent events for widget escalations (sent to the widget API).
	AgentQueue   EventKind = "agentQueue"
	AgentJoined  EventKind = "agentJoined"
	AgentMessage EventKind = "agentMessage"
	AgentLeft    EventKind = "agentLeft"
	AgentFailed  EventKind = "agentFailed"
)

// Event is one platform event in neutral form.
type Event struct {
	ID           string // the platform's event ID, for dedupe; empty means none
	Kind         EventKind
	Conversation string            // the platform's conversation ID
	Text         string            // message text, or the clicked button's text
	CardIndex    *int              // carousel card of a clicked button
	User         map[string]string // user profile fields (session parameters, by the account's rules)
	Params       map[string]string // explicit session parameters
	Attrs        map[string]string // adapter data to keep on the conversation
	Agent        DeskAgent         // for agent events
	Queue        QueueInfo         // for AgentQueue
	// MustBeNew makes a Started event fail with 409 when the conversation
	// already exists (LivePerson's PUT conversation contract).
	MustBeNew bool
	// LastMessage is a visitor message that arrived with a Started event
	// (e.g. LivePerson's lastConsumerMessage); sent right after startSession.
	LastMessage string
}

// A Message event's User and Params (e.g. the answers of a form the visitor
// submitted) go with the message as its session parameters, by the
// account's metadata rules like those of a Started event.

// DeskAgent is a human agent on the tenant's desk.
type DeskAgent struct {
	Name      string
	AvatarURL string
}

// QueueInfo is a queue update; strings as the widget API wants them.
type QueueInfo struct {
	Position    string
	WaitMinutes string
}

// Batch is what one platform request carried.
type Batch struct {
	Events []Event
	// Reply overrides the default success answer (some platforms expect a
	// particular body or content type).
	Reply *Reply
	// Skipped counts events of a multi-event delivery the adapter left out
	// as malformed, each logged with its IDs; the others go on and the
	// delivery is answered as usual.
	Skipped int
	// MustExist names a conversation (the platform's ID) that the platform
	// creates explicitly before it sends events for it: when the bridge
	// has no record of it, the request is answered 404 and nothing is
	// delivered (LivePerson then creates it and sends the event again).
	MustExist string
}

// Reply is a platform-specific answer.
type Reply struct {
	Status      int
	ContentType string
	Body        []byte
}

// Adapter is implemented by every platform adapter.
type Adapter interface {
	Name() string
	// ParseSettings decodes and checks the account item's settings map
	// (strictly: unknown fields are errors) into the adapter's own typed
	// value. The tenant loader calls it once per item read and caches the
	// result in Source.Settings, which is the only form the adapter then
	// reads.
	ParseSettings(settings json.RawMessage) (any, error)
	// ValidateCredentials checks the decoded secret value (never echoing it).
	ValidateCredentials(creds []byte) error
}

// Inbound adapters receive the platform's webhooks.
type Inbound interface {
	Adapter
	// Budget is how long the platform waits for our answer.
	Budget() time.Duration
	// Authenticate verifies the request over its raw bytes, in constant time.
	Authenticate(req *apigw.Request, acct *Account, now time.Time) error
	// Parse turns an authenticated request into events. Errors are
	// *apigw.Error values naming the problem.
	Parse(req *apigw.Request, acct *Account) (*Batch, error)
}

// Router is an inbound adapter that answers the paths and methods it does
// not serve before the account is even looked up.
type Router interface {
	Route(req *apigw.Request) error
}

// Progress lets a multi-part send resume after a retry without repeating the
// parts already delivered.
type Progress struct {
	Sent int
	// ID is a delivery ID chosen on the first attempt and kept across
	// retries, so the receiving side can dedupe too.
	ID string
}

// Sender adapters deliver AI-agent messages to the platform. Send makes one
// attempt per part; retryable failures are marked with retry.Retryable and
// the caller retries.
type Sender interface {
	Adapter
	Send(ctx context.Context, acct *Account, conv Conversation, msg ultimate.Message, p *Progress) error
}

// Registry finds adapters by source name.
type Registry struct {
	byName map[string]Adapter
}

// NewRegistry registers adapters by their names.
func NewRegistry(adapters ...Adapter) *Registry {
	r := &Registry{byName: map[string]Adapter{}}
	for _, a := range adapters {
		r.byName[a.Name()] = a
	}
	return r
}

// Names lists the registered sources, sorted, so messages that list them
// are stable.
func (r *Registry) Names() []string {
	out := make([]string, 0, len(r.byName))
	for n := range r.byName {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Get returns the adapter for name.
func (r *Registry) Get(name string) (Adapter, bool) {
	a, ok := r.byName[name]
	return a, ok
}

// ErrUnknownSource means no adapter has that name.
var ErrUnknownSource = errors.New("unknown source")

// ErrUnsupported means the adapter lacks a capability.
var ErrUnsupported = errors.New("not supported by this source")

// Capability returns the adapter for name as T, or an error saying which part
// is missing.
func Capability[T any](r *Registry, name string) (T, error) {
	var zero T
	a, ok := r.byName[name]
	if !ok {
		return zero, fmt.Errorf("%q: %w", name, ErrUnknownSource)
	}
	t, ok := a.(T)
	if !ok {
		return zero, fmt.Errorf("%q: %w", name, ErrUnsupported)
	}
	return t, nil
}

// ParseSettings parses an account's settings with its adapter; it is the
// tenant.Hooks.Settings hook the loader and the CLI use.
func (r *Registry) ParseSettings(source string, settings json.RawMessage) (any, error) {
	a, ok := r.byName[source]
	if !ok {
		return nil, fmt.Errorf("%q: %w (known: %s)", source, ErrUnknownSource, strings.Join(r.Names(), ", "))
	}
	return a.ParseSettings(settings)
}

// SettingsOf returns an account's parsed settings as the adapter's type T,
// or an error when the account was not loaded through the adapter's
// ParseSettings (a wiring mistake, not bad input).
func SettingsOf[T any](acct *Account) (T, error) {
	t, ok := acct.Source.Settings.(T)
	if !ok {
		var zero T
		return zero, fmt.Errorf("account %s/%s: settings are %T, not the adapter's parsed %T (load accounts through tenant.Loader with the registry's ParseSettings)",
			acct.Source.Source, acct.Account, acct.Source.Settings, zero)
	}
	return t, nil
}
