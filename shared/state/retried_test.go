package state_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/crmbridge/crmbridge/shared/state"
)

// lostAnswer plays DynamoDB after the SDK repeated a claim whose first
// answer was lost on a broken connection: the first attempt was applied,
// so the repeat fails its condition on the lease the first one wrote. With
// other set, the lease found is someone else's.
type lostAnswer struct {
	state.DB
	other bool
}

func (f lostAnswer) written(values map[string]types.AttributeValue) map[string]types.AttributeValue {
	token := values[":token"]
	if f.other {
		token = &types.AttributeValueMemberS{Value: "someone-else"}
	}
	return map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: "EVENT#x"}, "status": values[":queued"], "token": token, "at": values[":at"],
	}
}

func (f lostAnswer) UpdateItem(_ context.Context, in *dynamodb.UpdateItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	return nil, &types.ConditionalCheckFailedException{Message: aws.String("The conditional request failed"), Item: f.written(in.ExpressionAttributeValues)}
}

// TestAcceptRecognisesItsOwnRetriedWrite: a repeated claim that finds its
// own lease has the claim; one that finds another's is a duplicate.
func TestAcceptRecognisesItsOwnRetriedWrite(t *testing.T) {
	now := func() time.Time { return time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC) }
	tests := []struct {
		name  string
		other bool
	}{
		{name: "own claim"},
		{name: "another's claim", other: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &state.Store{DB: lostAnswer{other: tt.other}, Table: "state", Now: now}
			l, err := s.Accept(context.Background(), "EVENT#x", "")
			if tt.other {
				if d, dup := state.IsDuplicate(err); !dup || !d.At.Equal(now()) {
					t.Fatalf("Accept = %v, %v; want a duplicate accepted now", l, err)
				}
				return
			}
			if err != nil || l == nil || l.Key != "EVENT#x" {
				t.Fatalf("Accept = %+v, %v; want the lease", l, err)
			}
		})
	}
}
