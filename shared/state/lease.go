package state

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Lease is an accepted claim. The HTTP side gives it back with Release when
// the work could not be put on its queue.
type Lease struct {
	Key   string
	token string
}

// Accept claims the work under key (EVENT#…, BOTMSG#…) for delivery, in one
// conditional write of a small item (1 write unit; no transaction): new,
// expired (TTL not yet run), a dead letter the sender retries, or an
// abandoned lease of the former in-progress design. Once it is accepted the
// queue owns the work, so nothing more is written when the delivery
// succeeds. hash, when set, is a digest of the payload, to spot an ID
// reused for different content. A seen key is a *DuplicateError with the
// time it was accepted.
func (s *Store) Accept(ctx context.Context, k, hash string) (*Lease, error) {
	if k == "" {
		return nil, errors.New("accept: no key")
	}
	now := s.Now()
	l := &Lease{Key: k, token: newToken()}
	values := map[string]types.AttributeValue{
		":queued": sv(StatusQueued), ":token": sv(l.token), ":at": nv(now.UnixMilli()),
		":exp": nv(now.Add(s.doneTTL()).Unix()), ":now": nv(now.Unix()), ":nowms": nv(now.UnixMilli()),
		":dead": sv(StatusDead), ":inp": sv(StatusInProgress),
	}
	names, expr := acceptNames, acceptExpr
	if hash != "" {
		names, expr = acceptNamesHash, acceptExprHash
		values[":hash"] = sv(hash)
	}
	_, err := s.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                           aws.String(s.Table),
		Key:                                 key(k),
		UpdateExpression:                    aws.String(expr),
		ConditionExpression:                 aws.String("attribute_not_exists(pk) OR #exp < :now OR #st = :dead OR (#st = :inp AND #lease < :nowms)"),
		ExpressionAttributeNames:            names,
		ExpressionAttributeValues:           values,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		if ownRetry(ccf.Item, l) {
			return l, nil
		}
		return nil, duplicate(k, hash, ccf.Item)
	}
	if err != nil {
		return nil, fmt.Errorf("accept %s: %w", k, err)
	}
	return l, nil
}

// Accept's expression and names, fixed (the SDK only reads them). A dead
// letter taken up again loses its dead-letter attributes (the index entry
// with them); attempts stay, so the history is kept.
const (
	acceptSet      = "SET #st = :queued, #token = :token, #at = :at, #exp = :exp"
	acceptRemove   = " REMOVE #lease, #dlq, #payload, #reason"
	acceptExpr     = acceptSet + acceptRemove
	acceptExprHash = acceptSet + ", #hash = :hash" + acceptRemove
)

var (
	acceptNames = map[string]string{
		"#st": "status", "#token": "token", "#at": "at", "#exp": "exp", "#lease": "lease",
		"#dlq": "dlq", "#payload": "payload", "#reason": "reason",
	}
	acceptNamesHash = func() map[string]string {
		m := maps.Clone(acceptNames)
		m["#hash"] = "hash"
		return m
	}()
)

// ownRetry reports that the claim failed on the lease this very call
// wrote: the SDK repeated a write whose answer was lost (a connection cut
// after the request arrived), and the first attempt succeeded. The token is
// random per call, so no other caller can hold it.
func ownRetry(old map[string]types.AttributeValue, l *Lease) bool {
	return l.token != "" && getS(old, "token") == l.token
}

func duplicate(k, hash string, old map[string]types.AttributeValue) error {
	d := &DuplicateError{Key: k, Status: getS(old, "status"), At: time.UnixMilli(getN(old, "at"))}
	if d.Status == "" {
		d.Status = StatusQueued // no item returned: it is being accepted right now
	}
	if h := getS(old, "hash"); h != "" && hash != "" && h != hash {
		d.HashDiffer = true
	}
	return d
}

// Release gives back a claim whose work did not reach its queue, so the
// sender's retry can redo it. It removes only the caller's own claim.
func (s *Store) Release(ctx context.Context, l *Lease) error {
	if l == nil || l.Key == "" {
		return nil
	}
	_, err := s.DB.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:                 aws.String(s.Table),
		Key:                       key(l.Key),
		ConditionExpression:       aws.String("#token = :token"),
		ExpressionAttributeNames:  map[string]string{"#token": "token"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":token": sv(l.token)},
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return nil // someone else holds it now; nothing of ours to release
	}
	if err != nil {
		return fmt.Errorf("release %s: %w", l.Key, err)
	}
	return nil
}

// SaveProgress records how far a multi-part send got before it failed, on
// the message's claim, so a redelivery resumes after the parts the
// platform already has. It is written on that failure path only.
func (s *Store) SaveProgress(ctx context.Context, k string, sent int, id string) error {
	names := map[string]string{"#sent": "sentParts"}
	values := map[string]types.AttributeValue{":sent": nv(int64(sent))}
	expr := "SET #sent = :sent"
	if id != "" {
		expr += ", #pid = :pid"
		names["#pid"] = "partsId"
		values[":pid"] = sv(id)
	}
	_, err := s.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.Table), Key: key(k), UpdateExpression: aws.String(expr),
		ExpressionAttributeNames: names, ExpressionAttributeValues: values,
	})
	if err != nil {
		return fmt.Errorf("save progress of %s: %w", k, err)
	}
	return nil
}

// Progress reads what SaveProgress wrote (0 and "" when nothing was): only
// a redelivered message asks.
func (s *Store) Progress(ctx context.Context, k string) (sent int, id string, err error) {
	out, err := s.DB.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.Table), Key: key(k), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return 0, "", fmt.Errorf("read progress of %s: %w", k, err)
	}
	return int(getN(out.Item, "sentParts")), getS(out.Item, "partsId"), nil
}
