// Package state keeps what the bridge must remember between invocations in
// the State table: conversations (active, with a human, ended), idempotency
// leases for inbound events and outbound bot messages, and dead letters.
//
// Idempotency follows the Powertools pattern: a conditional put claims an
// event with an in-progress lease that expires with the invocation, success
// turns it to done, failure deletes it (so the sender's retry redoes the work)
// or buries it as a dead letter. DynamoDB TTL deletes late, so every read and
// condition checks the expiry itself.
package state

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// DB is the part of the DynamoDB API the store uses.
type DB interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, opts ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
}

var _ DB = (*dynamodb.Client)(nil)

// Record statuses.
const (
	StatusInProgress = "inprogress"
	StatusDone       = "done"
	StatusDead       = "dead"
)

// Conversation statuses.
const (
	ConvActive    = "active"
	ConvEscalated = "escalated"
	ConvEnded     = "ended"
)

// DeadLetterIndex is the sparse GSI over dead letters (hash dlq, range deadAt).
const DeadLetterIndex = "dead-letters"

// ExpiryAttribute is the table's TTL attribute (epoch seconds); DynamoDB
// deletes late, so reads check it too.
const ExpiryAttribute = "exp"

// Store reads and writes the State table.
type Store struct {
	DB    DB
	Table string
	Now   func() time.Time // required: the bridge's clock
	// DoneTTL is how long a finished event is remembered for dedupe; it
	// covers senders' retry schedules (Standard Webhooks retries for ~3 days).
	DoneTTL time.Duration
	// ConvTTL is how long an idle conversation is remembered.
	ConvTTL time.Duration
	// DeadTTL is how long a dead letter is kept for replay.
	DeadTTL time.Duration
}

// Key builders. Keys carry the tenant so IDs from different platforms or
// agents can never collide.
func EventKey(source, account, eventID string) string {
	return "EVENT#" + source + "#" + account + "#" + eventID
}

// BotMessageKey is the dedupe key of an AI-agent message.
func BotMessageKey(agentID, messageID string) string { return "BOTMSG#" + agentID + "#" + messageID }

// ConvKey is the key of a conversation item.
func ConvKey(pcid string) string { return "CONV#" + pcid }

// ErrHeld means the conversation is with a human, so the event must not go
// to the AI agent.
var ErrHeld = errors.New("conversation is with a human agent")

// ErrExists means a conversation that must be new already exists.
var ErrExists = errors.New("conversation already exists")

// ErrLeaseLost means another invocation took over an expired lease.
var ErrLeaseLost = errors.New("idempotency lease lost")

// DuplicateError reports an event seen before.
type DuplicateError struct {
	Key        string
	Status     string        // done, inprogress or dead
	RetryAfter time.Duration // for inprogress: when the lease runs out
	HashDiffer bool          // the same ID arrived with a different body
}

func (e *DuplicateError) Error() string {
	return fmt.Sprintf("duplicate %s (%s)", e.Key, e.Status)
}

// IsDuplicate returns the DuplicateError in err, if any.
func IsDuplicate(err error) (*DuplicateError, bool) {
	var d *DuplicateError
	ok := errors.As(err, &d)
	return d, ok
}

func (s *Store) doneTTL() time.Duration { return orDefault(s.DoneTTL, 72*time.Hour) }
func (s *Store) convTTL() time.Duration { return orDefault(s.ConvTTL, 30*24*time.Hour) }
func (s *Store) deadTTL() time.Duration { return orDefault(s.DeadTTL, 14*24*time.Hour) }

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

func newToken() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func sv(s string) types.AttributeValue { return &types.AttributeValueMemberS{Value: s} }
func nv(n int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}

func key(pk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"pk": sv(pk)}
}

func getS(it map[string]types.AttributeValue, k string) string {
	if v, ok := it[k].(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

func getN(it map[string]types.AttributeValue, k string) int64 {
	if v, ok := it[k].(*types.AttributeValueMemberN); ok {
		n, _ := strconv.ParseInt(v.Value, 10, 64)
		return n
	}
	return 0
}
