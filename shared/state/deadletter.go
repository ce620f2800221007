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
// needed to replay it.
type DeadLetter struct {
	Key      string            `json:"key"`
	Kind     string            `json:"kind"`
	Reason   string            `json:"reason"`
	Payload  string            `json:"payload"` // JSON the replayer understands
	Attempts int               `json:"attempts"`
	DeadAt   time.Time         `json:"deadAt"`
	Ref      map[string]string `json:"ref,omitempty"` // source, account, agentId, pcid: for operators
}

// Bury turns a held claim into a dead letter. Its key stays claimable, so a
// later retry by the sender (or a replay) can still do the work once.
func (s *Store) Bury(ctx context.Context, l *Lease, dl DeadLetter) error {
	if l == nil || l.Key == "" {
		return errors.New("bury: no key to keep the dead letter under")
	}
	now := s.Now()
	item := map[string]types.AttributeValue{
		"pk": sv(l.Key), "status": sv(StatusDead), "dlq": sv(dl.Kind),
		"deadAt": nv(now.UnixMilli()), "reason": sv(truncate(dl.Reason, 1000)),
		"payload": sv(dl.Payload), "exp": nv(now.Add(s.deadTTL()).Unix()),
		"token": sv(l.token),
	}
	for k, v := range dl.Ref {
		if v != "" {
			item["ref_"+k] = sv(v)
		}
	}
	_, err := s.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.Table),
		Key:                       key(l.Key),
		UpdateExpression:          aws.String(setAll(item)),
		ConditionExpression:       aws.String("attribute_not_exists(pk) OR #token = :token"),
		ExpressionAttributeNames:  names(item),
		ExpressionAttributeValues: values(item, map[string]types.AttributeValue{":one": nv(1), ":zero": nv(0)}),
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return fmt.Errorf("bury %s: %w", l.Key, ErrLeaseLost)
	}
	if err != nil {
		return fmt.Errorf("bury %s: %w", l.Key, err)
	}
	return nil
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
	n := map[string]string{"#attempts": "attempts", "#token": "token"}
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
	v[":token"] = item["token"]
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

// DeadLetters lists dead letters of a kind, newest first.
func (s *Store) DeadLetters(ctx context.Context, kind string, limit int32) ([]DeadLetter, error) {
	if limit <= 0 {
		limit = 50
	}
	out, err := s.DB.Query(ctx, &dynamodb.QueryInput{
		TableName:                 aws.String(s.Table),
		IndexName:                 aws.String(DeadLetterIndex),
		KeyConditionExpression:    aws.String("dlq = :k"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":k": sv(kind)},
		ScanIndexForward:          aws.Bool(false),
		Limit:                     aws.Int32(limit),
	})
	if err != nil {
		return nil, fmt.Errorf("list %s dead letters: %w", kind, err)
	}
	now := s.Now()
	dls := make([]DeadLetter, 0, len(out.Items))
	for _, it := range out.Items {
		if getN(it, "exp") < now.Unix() || getS(it, "status") != StatusDead {
			continue
		}
		dls = append(dls, decodeDead(it))
	}
	return dls, nil
}

// DeadLetter reads one dead letter by key.
func (s *Store) DeadLetter(ctx context.Context, k string) (*DeadLetter, error) {
	out, err := s.DB.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.Table), Key: key(k), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", k, err)
	}
	if len(out.Item) == 0 || getS(out.Item, "status") != StatusDead || getN(out.Item, "exp") < s.Now().Unix() {
		return nil, fmt.Errorf("dead letter %s: not found", k)
	}
	dl := decodeDead(out.Item)
	return &dl, nil
}

// Resolve marks a dead letter done after a successful replay, so neither a
// late sender retry nor another replay repeats it.
func (s *Store) Resolve(ctx context.Context, k string) error {
	now := s.Now()
	_, err := s.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.Table),
		Key:                       key(k),
		UpdateExpression:          aws.String("SET #st = :done, #exp = :exp, #at = :now REMOVE #dlq, #payload"),
		ConditionExpression:       aws.String("#st = :dead"),
		ExpressionAttributeNames:  map[string]string{"#st": "status", "#exp": "exp", "#at": "doneAt", "#dlq": "dlq", "#payload": "payload"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":done": sv(StatusDone), ":dead": sv(StatusDead), ":exp": nv(now.Add(s.doneTTL()).Unix()), ":now": nv(now.UnixMilli())},
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return fmt.Errorf("resolve %s: not a dead letter any more", k)
	}
	if err != nil {
		return fmt.Errorf("resolve %s: %w", k, err)
	}
	return nil
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
		return fmt.Errorf("discard %s: not a dead letter", k)
	}
	if err != nil {
		return fmt.Errorf("discard %s: %w", k, err)
	}
	return nil
}

func decodeDead(it map[string]types.AttributeValue) DeadLetter {
	dl := DeadLetter{
		Key: getS(it, "pk"), Kind: getS(it, "dlq"), Reason: getS(it, "reason"), Payload: getS(it, "payload"),
		Attempts: int(getN(it, "attempts")), DeadAt: time.UnixMilli(getN(it, "deadAt")).UTC(),
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

// Keep stores a dead letter under a new key (work that had no claim, e.g. a
// bot message without a messageId).
func (s *Store) Keep(ctx context.Context, k string, dl DeadLetter) error {
	return s.Bury(ctx, &Lease{Key: k, token: newToken()}, dl)
}
