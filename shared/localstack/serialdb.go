package localstack

import (
	"context"
	"sync"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/crmbridge/crmbridge/shared/state"
)

// SerialDB serializes writes to moto_server. DynamoDB evaluates a
// conditional write atomically; moto_server serves requests on threads
// and does not promise that, so concurrent claims of one key could both
// pass. Holding one lock around every write gives the emulator the
// isolation the real service has, so concurrent-delivery tests and the
// local stack behave like production. Conditions are still evaluated by
// moto. (The bridge writes no transaction: moto's snapshot-and-restore of
// a cancelled transaction erased concurrent writes, the first reason for
// this lock.)
type SerialDB struct {
	state.DB
	mu     sync.Mutex
	Writes Signal // notified after every write (the playground's feed waits on it)
}

// NewSerialDB wraps db.
func NewSerialDB(db state.DB) *SerialDB { return &SerialDB{DB: db} }

// PutItem implements state.DB.
func (s *SerialDB) PutItem(ctx context.Context, in *dynamodb.PutItemInput, o ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	s.mu.Lock()
	defer s.unlock()
	return s.DB.PutItem(ctx, in, o...)
}

// UpdateItem implements state.DB.
func (s *SerialDB) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, o ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	s.mu.Lock()
	defer s.unlock()
	return s.DB.UpdateItem(ctx, in, o...)
}

// DeleteItem implements state.DB.
func (s *SerialDB) DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, o ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	s.mu.Lock()
	defer s.unlock()
	return s.DB.DeleteItem(ctx, in, o...)
}
