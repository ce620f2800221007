// Package state keeps what the bridge must remember between invocations in
// the State table: conversations (active, with a human, ended), the claims
// that deduplicate inbound events and outbound bot messages, and dead
// letters.
//
// A claim is one conditional write when the work is accepted (status
// queued); from then on the SQS FIFO queue owns the work, and the queue's
// delete is the record of its delivery, so success writes nothing more. A
// claim whose work could not be enqueued is released (deleted) so the
// sender's retry redoes it; work that failed for good becomes a dead letter
// under the same key, which a sender's retry or a replay may take up again.
// DynamoDB TTL deletes late, so every read and condition checks the expiry
// itself.
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
	Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
}

var _ DB = (*dynamodb.Client)(nil)

// Claim statuses.
const (
	StatusQueued = "queued" // accepted and on its queue
	StatusDead   = "dead"   // kept as a dead letter
	// StatusInProgress and StatusDone are the former design's (a lease held
	// during the delivery, then done); items written by it expire within
	// DoneTTL and are still read correctly until then.
	StatusInProgress = "inprogress"
	StatusDone       = "done"
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

// ErrExists means a conversation that must be new already exists.
var ErrExists = errors.New("conversation already exists")

// DuplicateError reports work accepted before.
type DuplicateError struct {
	Key        string
	Status     string    // queued (or a former design's done/inprogress)
	At         time.Time // when it was accepted
	HashDiffer bool      // the same ID arrived with a different body
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
