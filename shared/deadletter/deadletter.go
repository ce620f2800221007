// Package deadletter is what becomes of queued work the bridge gave up on:
// kept as a State-table item (the queue envelope as payload, IDs, and a
// reason built from typed errors: statuses and codes, never answer bodies),
// listed oldest first, and replayed through the queue it came from, so the
// replay keeps the conversation's order, meets the same attempt policy and
// uses the tenant mapping of the day it is delivered.
package deadletter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"

	"github.com/crmbridge/crmbridge/shared/egress"
	"github.com/crmbridge/crmbridge/shared/obs"
	"github.com/crmbridge/crmbridge/shared/queue"
	"github.com/crmbridge/crmbridge/shared/source"
	"github.com/crmbridge/crmbridge/shared/state"
)

// Store keeps and lists dead letters (state.Store).
type Store interface {
	Keep(ctx context.Context, dl state.DeadLetter) error
	StartReplay(ctx context.Context, key string) (*state.DeadLetter, error)
	DeadLetters(ctx context.Context, kind string, limit int) ([]state.DeadLetter, error)
}

// Keeper keeps the records a queue consumer gives up on; Bury is a
// queue.Consumer's Bury.
type Keeper struct {
	Store Store
	// Kind is the queue's: state.DeadInbound or state.DeadOutbound.
	Kind    string
	Log     *slog.Logger
	Metrics *obs.Metrics
}

// MaxPayload is the most of a record's body a dead letter keeps: with its
// other attributes it stays well inside DynamoDB's 400 KB item.
const MaxPayload = 300 << 10

// Bury keeps r under its claim key, or DEAD#{kind}#{messageId} when it had
// none (an event without an ID, a message without a messageId, a body that
// is not an envelope) or its key is not a claim's.
func (k *Keeper) Bury(ctx context.Context, r queue.Record, cause error) error {
	key := r.Key
	if !state.IsWorkKey(key) {
		// No claim, or a key that names another item: kept apart.
		key = state.DeadKey(k.Kind, r.MessageID)
	}
	// receives: how many deliveries were tried before the bridge gave up.
	ref := map[string]string{"messageId": r.MessageID, "pcid": r.PCID, "receives": strconv.Itoa(max(r.Receives, 1))}
	if conv, err := source.ParsePCID(r.PCID); err == nil {
		ref["source"], ref["account"] = conv.Source, conv.Account
	}
	dl := state.DeadLetter{Key: key, Kind: k.Kind, Reason: Reason(cause), Payload: r.Body, Ref: ref}
	if n := len(dl.Payload); n > MaxPayload {
		// Only a record the bridge did not write is this large (its
		// requests are at most 256 KiB): kept cut, so it is still listed
		// and its queue moves on, rather than retried until the redrive
		// queue takes it. A cut payload does not replay.
		dl.Payload = strings.ToValidUTF8(dl.Payload[:MaxPayload], "")
		dl.Reason += fmt.Sprintf(" (payload of %d bytes cut to %d to keep it; not replayable)", n, MaxPayload)
	}
	if err := k.Store.Keep(ctx, dl); err != nil {
		return err
	}
	k.Metrics.Count("DeadLetters", 1, map[string]string{"Kind": k.Kind})
	k.Log.WarnContext(ctx, "kept a dead letter", slog.String("key", key), slog.String("pcid", r.PCID),
		slog.String("messageId", r.MessageID), slog.Int("receives", r.Receives), slog.String("reason", dl.Reason))
	return nil
}

// Reason is what a dead letter keeps of its cause: egress's typed summary
// of the last failure (operation, status, code; never an answer body), and
// that the retry horizon was reached.
func Reason(cause error) string {
	var exp *queue.ExpiredError
	if errors.As(cause, &exp) {
		return fmt.Sprintf("gave up after %s (the account's maximum age): %s", exp.Age.Round(1e9), egress.Reason(exp.Err))
	}
	return egress.Reason(cause)
}

// Sender puts an envelope on a queue (queue.Producer).
type Sender interface {
	Send(ctx context.Context, e queue.Envelope, dedupe string) error
}

// Replayer puts dead letters back on their queues.
type Replayer struct {
	Store Store
	// Queues by dead-letter kind (state.DeadInbound, state.DeadOutbound).
	Queues map[string]Sender
}

// ErrNoQueue means the kind's queue is not configured (its URL variable
// is unset): a replay never guesses one.
var ErrNoQueue = errors.New("no queue configured")

// Replay re-enqueues the dead letter under key and returns it as it was
// (its Replays counted). The record gets a fresh retry horizon; a replay
// that fails again becomes a dead letter again, its attempts counted.
func (r *Replayer) Replay(ctx context.Context, key string) (*state.DeadLetter, error) {
	dl, err := r.Store.StartReplay(ctx, key)
	if err != nil {
		return nil, err
	}
	env, err := Envelope(*dl)
	if err == nil {
		q := r.Queues[dl.Kind]
		if q == nil {
			err = fmt.Errorf("%s: %w for %s dead letters", key, ErrNoQueue, dl.Kind)
		} else {
			env.Enqueued = 0 // now: the replay's own retry horizon
			env.Key = dl.Key // where it is kept if it fails again
			err = q.Send(ctx, env, fmt.Sprintf("%s#replay-%d", key, dl.Replays))
		}
	}
	if err != nil {
		back := *dl
		back.Reason = "replay failed: " + egress.Reason(err)
		if kerr := r.Store.Keep(context.WithoutCancel(ctx), back); kerr != nil {
			return nil, fmt.Errorf("replay %s: %w (and it could not be kept again: %w)", key, err, kerr)
		}
		return nil, fmt.Errorf("replay %s: %w", key, err)
	}
	return dl, nil
}

// Filter selects dead letters to replay.
type Filter struct {
	Kinds []string // default both
	PCID  string   // one conversation's (its platformConversationId)
}

// All replays the dead letters f selects, oldest first, and reports each
// to done. When one of a conversation fails, that conversation's later
// ones are left where they are (replaying them would overtake it); the
// others go on.
func (r *Replayer) All(ctx context.Context, f Filter, done func(dl state.DeadLetter, err error)) error {
	kinds := f.Kinds
	if len(kinds) == 0 {
		kinds = []string{state.DeadInbound, state.DeadOutbound}
	}
	var all []state.DeadLetter
	for _, k := range kinds {
		dls, err := r.Store.DeadLetters(ctx, k, 0)
		if err != nil {
			return err
		}
		all = append(all, dls...)
	}
	slices.SortStableFunc(all, func(a, b state.DeadLetter) int { return a.DeadAt.Compare(b.DeadAt) })
	blocked := map[string]bool{}
	for _, dl := range all {
		pcid := dl.Ref["pcid"]
		if f.PCID != "" && pcid != f.PCID {
			continue
		}
		if blocked[dl.Kind+" "+pcid] {
			done(dl, fmt.Errorf("skipped: an earlier dead letter of %s failed to replay", pcid))
			continue
		}
		replayed, err := r.Replay(ctx, dl.Key)
		if err != nil {
			blocked[dl.Kind+" "+pcid] = true
			done(dl, err)
			continue
		}
		done(*replayed, nil)
	}
	return nil
}

// Envelope is the queue envelope a dead letter keeps, or, for one kept
// before the queues (a DeadEvent or DeadMessage payload naming its pcid),
// one built from it: those payloads carry the same "event" (and
// "agentId") fields the queue records' data has.
func Envelope(dl state.DeadLetter) (queue.Envelope, error) {
	if env, err := queue.Decode(dl.Payload); err == nil {
		return env, nil
	}
	var legacy struct {
		PCID  string          `json:"pcid"`
		Event json.RawMessage `json:"event"`
	}
	if err := json.Unmarshal([]byte(dl.Payload), &legacy); err != nil || legacy.PCID == "" || len(legacy.Event) == 0 {
		return queue.Envelope{}, fmt.Errorf("dead letter %s: the payload is neither a queue envelope nor a kept event", dl.Key)
	}
	kind := queue.KindInbound
	if dl.Kind == state.DeadOutbound {
		kind = queue.KindOutbound
	}
	return queue.Envelope{V: queue.Version, Kind: kind, Key: dl.Key, PCID: legacy.PCID, Data: json.RawMessage(dl.Payload)}, nil
}
