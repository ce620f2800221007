package state

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Dead-letter kinds (the dlq attribute, hash key of the index).
const (
	DeadInbound  = "inbound"  // a platform event that did not reach the AI agent
	DeadOutbound = "outbound" // an AI-agent message that did not reach the platform
)

// DeadLetter is work that failed after it was accepted, kept with what is
// needed to replay it: for queued work the queue envelope.
type DeadLetter struct {
	Key      string            `json:"key"`
	Kind     string            `json:"kind"`
	Reason   string            `json:"reason"`   // typed: statuses and codes, never answer bodies
	Payload  string            `json:"payload"`  // JSON the replayer understands
	Attempts int               `json:"attempts"` // how often the work ended here
	Replays  int               `json:"replays"`  // how often an operator replayed it
	DeadAt   time.Time         `json:"deadAt"`
	Ref      map[string]string `json:"ref,omitempty"` // source, account, agentId, pcid: for operators
}

// ErrNotDead means a key holds no (live) dead letter.
var ErrNotDead = errors.New("not a dead letter")

// Keep stores dl under dl.Key: the claim of the failed work (EVENT#…,
// BOTMSG#…, whose status becomes dead) or a DEAD#… key for work that had
// none. The queue consumer calling it owns the work (its queue message is
// deleted only after this succeeded), so the write is unconditional. The
// key stays claimable: a sender's retry or a replay may take the work up
// again.
func (s *Store) Keep(ctx context.Context, dl DeadLetter) error {
	if dl.Key == "" {
		return errors.New("keep a dead letter: no key")
	}
	now := s.Now()
	item := map[string]types.AttributeValue{
		"status": sv(StatusDead), "dlq": sv(dl.Kind),
		"deadAt": nv(now.UnixMilli()), "reason": sv(truncate(dl.Reason, 1000)),
		"payload": sv(dl.Payload), "exp": nv(now.Add(s.deadTTL()).Unix()),
	}
	for k, v := range dl.Ref {
		if v != "" {
			item["ref_"+k] = sv(v)
		}
	}
	_, err := s.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.Table),
		Key:                       key(dl.Key),
		UpdateExpression:          aws.String(setAll(item)),
		ExpressionAttributeNames:  names(item),
		ExpressionAttributeValues: values(item, map[string]types.AttributeValue{":one": nv(1), ":zero": nv(0)}),
	})
	if err != nil {
		return fmt.Errorf("keep dead letter %s: %w", dl.Key, err)
	}
	return nil
}

// StartReplay takes a dead letter out of the list for a replay (status
// queued again, the replay counted) and returns it as it was, so its
// payload can be enqueued. A replay that cannot be enqueued is kept again
// with Keep.
func (s *Store) StartReplay(ctx context.Context, k string) (*DeadLetter, error) {
	now := s.Now()
	out, err := s.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:           aws.String(s.Table),
		Key:                 key(k),
		UpdateExpression:    aws.String("SET #st = :queued, #at = :nowms, #replays = if_not_exists(#replays, :zero) + :one REMOVE #dlq"),
		ConditionExpression: aws.String("#st = :dead AND #exp >= :now"),
		ExpressionAttributeNames: map[string]string{
			"#st": "status", "#at": "at", "#replays": "replays", "#dlq": "dlq", "#exp": "exp",
		},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":queued": sv(StatusQueued), ":dead": sv(StatusDead), ":nowms": nv(now.UnixMilli()), ":now": nv(now.Unix()),
			":zero": nv(0), ":one": nv(1),
		},
		ReturnValues: types.ReturnValueAllOld,
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return nil, fmt.Errorf("replay %s: %w", k, ErrNotDead)
	}
	if err != nil {
		return nil, fmt.Errorf("replay %s: %w", k, err)
	}
	dl := decodeDead(out.Attributes)
	dl.Replays++
	return &dl, nil
}

// setAll builds "SET #a = :a, ..." for every attribute but pk, plus an
// attempts counter.
func setAll(item map[string]types.AttributeValue) string {
	expr := "SET #attempts = if_not_exists(#attempts, :zero) + :one"
	for k := range item {
		if k == "pk" {
			continue
		}
		expr += ", #" + k + " = :" + k
	}
	return expr
}

func names(item map[string]types.AttributeValue) map[string]string {
	n := map[string]string{"#attempts": "attempts"}
	for k := range item {
		if k != "pk" {
			n["#"+k] = k
		}
	}
	return n
}

func values(item map[string]types.AttributeValue, extra map[string]types.AttributeValue) map[string]types.AttributeValue {
	v := map[string]types.AttributeValue{}
	for k, x := range item {
		if k != "pk" {
			v[":"+k] = x
		}
	}
	for k, x := range extra {
		v[k] = x
	}
	return v
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// DeadLetters lists dead letters of a kind, oldest first (the order a
// replay of a conversation must keep); limit <= 0 lists them all.
func (s *Store) DeadLetters(ctx context.Context, kind string, limit int) ([]DeadLetter, error) {
	now := s.Now()
	var dls []DeadLetter
	var start map[string]types.AttributeValue
	for {
		in := &dynamodb.QueryInput{
			TableName:                 aws.String(s.Table),
			IndexName:                 aws.String(DeadLetterIndex),
			KeyConditionExpression:    aws.String("dlq = :k"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":k": sv(kind)},
			ScanIndexForward:          aws.Bool(true),
			ExclusiveStartKey:         start,
		}
		if limit > 0 {
			in.Limit = aws.Int32(int32(min(limit-len(dls), 1000)))
		}
		out, err := s.DB.Query(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("list %s dead letters: %w", kind, err)
		}
		for _, it := range out.Items {
			if getN(it, "exp") < now.Unix() || getS(it, "status") != StatusDead {
				continue
			}
			dls = append(dls, decodeDead(it))
		}
		start = out.LastEvaluatedKey
		if len(start) == 0 || (limit > 0 && len(dls) >= limit) {
			return dls, nil
		}
	}
}

// DeadLetter reads one dead letter by key.
func (s *Store) DeadLetter(ctx context.Context, k string) (*DeadLetter, error) {
	out, err := s.DB.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.Table), Key: key(k), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", k, err)
	}
	if len(out.Item) == 0 || getS(out.Item, "status") != StatusDead || getN(out.Item, "exp") < s.Now().Unix() {
		return nil, fmt.Errorf("dead letter %s: %w", k, ErrNotDead)
	}
	dl := decodeDead(out.Item)
	return &dl, nil
}

// Discard deletes a dead letter without replaying it.
func (s *Store) Discard(ctx context.Context, k string) error {
	_, err := s.DB.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:                 aws.String(s.Table),
		Key:                       key(k),
		ConditionExpression:       aws.String("#st = :dead"),
		ExpressionAttributeNames:  map[string]string{"#st": "status"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":dead": sv(StatusDead)},
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return fmt.Errorf("discard %s: %w", k, ErrNotDead)
	}
	if err != nil {
		return fmt.Errorf("discard %s: %w", k, err)
	}
	return nil
}

func decodeDead(it map[string]types.AttributeValue) DeadLetter {
	dl := DeadLetter{
		Key: getS(it, "pk"), Kind: getS(it, "dlq"), Reason: getS(it, "reason"), Payload: getS(it, "payload"),
		Attempts: int(getN(it, "attempts")), Replays: int(getN(it, "replays")), DeadAt: time.UnixMilli(getN(it, "deadAt")).UTC(),
	}
	for k, v := range it {
		if len(k) > 4 && k[:4] == "ref_" {
			if dl.Ref == nil {
				dl.Ref = map[string]string{}
			}
			if s, ok := v.(*types.AttributeValueMemberS); ok {
				dl.Ref[k[4:]] = s.Value
			}
		}
	}
	return dl
}
