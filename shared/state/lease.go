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

// ConvChange touches a conversation in the same write as a claim.
type ConvChange struct {
	PCID    string
	AgentID string
	// SetStatus sets the status; empty keeps it (a new item gets active).
	SetStatus string
	// RefuseEscalated makes the claim fail with ErrHeld while the conversation
	// is with a human.
	RefuseEscalated bool
	// RequireNew makes the claim fail with ErrExists when a live conversation
	// the AI agent is handling already has this ID (platforms that create
	// conversations explicitly and expect a conflict answer, like
	// LivePerson). Ended and escalated conversations may be created again: a
	// conversation handed back to the bot is the bot's anew.
	RequireNew bool
	// Attrs are adapter data merged onto the conversation (see
	// Conversation.Attrs).
	Attrs map[string]string
}

// Claim describes work to be done once.
type Claim struct {
	Key   string        // dedupe key; empty means no dedupe
	Hash  string        // optional digest of the payload, to spot a reused ID
	Lease time.Duration // how long the claim holds before a retry may take over
	Conv  *ConvChange   // optional
}

// Lease is a held claim. Finish it with Done, Release or Bury.
type Lease struct {
	Key   string
	token string
}

// Begin claims c in one DynamoDB call: a conditional write of the lease and,
// when c.Conv is set, a conditional update of the conversation, in one
// transaction. It returns a *DuplicateError when the event was seen, ErrHeld
// when the conversation is with a human.
func (s *Store) Begin(ctx context.Context, c Claim) (*Lease, error) {
	now := s.Now()
	if c.Key == "" {
		if c.Conv == nil {
			return &Lease{}, nil
		}
		upd := s.convUpdate(*c.Conv, now)
		_, err := s.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: upd.TableName, Key: upd.Key, UpdateExpression: upd.UpdateExpression,
			ConditionExpression: upd.ConditionExpression, ExpressionAttributeNames: upd.ExpressionAttributeNames,
			ExpressionAttributeValues: upd.ExpressionAttributeValues,
		})
		var ccf *types.ConditionalCheckFailedException
		if errors.As(err, &ccf) {
			if c.Conv.RequireNew {
				return nil, fmt.Errorf("conversation %s: %w", c.Conv.PCID, ErrExists)
			}
			return nil, fmt.Errorf("conversation %s: %w", c.Conv.PCID, ErrHeld)
		}
		if err != nil {
			return nil, fmt.Errorf("touch conversation %s: %w", c.Conv.PCID, err)
		}
		return &Lease{}, nil
	}

	l := &Lease{Key: c.Key, token: newToken()}
	lease := c.Lease
	if lease <= 0 {
		lease = 30 * time.Second
	}
	// An update, not a put: a retried dead letter keeps its attempts count
	// and payload until the work succeeds.
	names := map[string]string{"#st": "status", "#token": "token", "#lease": "lease", "#exp": "exp", "#dlq": "dlq"}
	values := map[string]types.AttributeValue{
		":inp": sv(StatusInProgress), ":token": sv(l.token), ":lease": nv(now.Add(lease).UnixMilli()),
		":exp": nv(now.Add(s.doneTTL()).Unix()), ":now": nv(now.Unix()), ":nowms": nv(now.UnixMilli()), ":dead": sv(StatusDead),
	}
	expr := "SET #st = :inp, #token = :token, #lease = :lease, #exp = :exp"
	if c.Hash != "" {
		expr += ", #hash = :hash"
		names["#hash"] = "hash"
		values[":hash"] = sv(c.Hash)
	}
	claim := &types.Update{
		TableName:        aws.String(s.Table),
		Key:              key(c.Key),
		UpdateExpression: aws.String(expr + " REMOVE #dlq"),
		// New, expired (TTL not yet run), an abandoned lease, or a dead letter
		// being retried.
		ConditionExpression:                 aws.String("attribute_not_exists(pk) OR #exp < :now OR (#st = :inp AND #lease < :nowms) OR #st = :dead"),
		ExpressionAttributeNames:            names,
		ExpressionAttributeValues:           values,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	}
	if c.Conv == nil {
		_, err := s.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: claim.TableName, Key: claim.Key, UpdateExpression: claim.UpdateExpression,
			ConditionExpression: claim.ConditionExpression, ExpressionAttributeNames: claim.ExpressionAttributeNames,
			ExpressionAttributeValues: claim.ExpressionAttributeValues, ReturnValuesOnConditionCheckFailure: claim.ReturnValuesOnConditionCheckFailure,
		})
		var ccf *types.ConditionalCheckFailedException
		if errors.As(err, &ccf) {
			if ownRetry(ccf.Item, l) {
				return l, nil
			}
			return nil, s.duplicate(c, ccf.Item, now)
		}
		if err != nil {
			return nil, fmt.Errorf("claim %s: %w", c.Key, err)
		}
		return l, nil
	}

	upd := s.convUpdate(*c.Conv, now)
	_, err := s.DB.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{
		TransactItems: []types.TransactWriteItem{{Update: claim}, {Update: upd}},
	})
	var tce *types.TransactionCanceledException
	if errors.As(err, &tce) {
		reasons := tce.CancellationReasons
		if len(reasons) > 0 && aws.ToString(reasons[0].Code) == "ConditionalCheckFailed" {
			if ownRetry(reasons[0].Item, l) {
				return l, nil
			}
			return nil, s.duplicate(c, reasons[0].Item, now)
		}
		if len(reasons) > 1 && aws.ToString(reasons[1].Code) == "ConditionalCheckFailed" {
			if c.Conv.RequireNew {
				return nil, fmt.Errorf("conversation %s: %w", c.Conv.PCID, ErrExists)
			}
			return nil, fmt.Errorf("conversation %s: %w", c.Conv.PCID, ErrHeld)
		}
		return nil, fmt.Errorf("claim %s: transaction cancelled: %w", c.Key, err)
	}
	if err != nil {
		return nil, fmt.Errorf("claim %s: %w", c.Key, err)
	}
	return l, nil
}

func (s *Store) convUpdate(c ConvChange, now time.Time) *types.Update {
	names := map[string]string{"#st": "status", "#exp": "exp", "#up": "updated", "#cr": "created"}
	values := map[string]types.AttributeValue{
		":now": nv(now.UnixMilli()), ":exp": nv(now.Add(s.convTTL()).Unix()),
	}
	expr := "SET #up = :now, #exp = :exp, #cr = if_not_exists(#cr, :now)"
	if c.SetStatus != "" {
		expr += ", #st = :status"
		values[":status"] = sv(c.SetStatus)
	} else {
		expr += ", #st = if_not_exists(#st, :active)"
		values[":active"] = sv(ConvActive)
	}
	if c.AgentID != "" {
		expr += ", #ag = :agent"
		names["#ag"] = "agentId"
		values[":agent"] = sv(c.AgentID)
	}
	expr += attrSets(c.Attrs, names, values)
	u := &types.Update{
		TableName:                 aws.String(s.Table),
		Key:                       key(ConvKey(c.PCID)),
		UpdateExpression:          aws.String(expr),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
	}
	switch {
	case c.RequireNew:
		u.ConditionExpression = aws.String("attribute_not_exists(pk) OR #st IN (:ended, :esc) OR #exp < :nows")
		values[":ended"] = sv(ConvEnded)
		values[":esc"] = sv(ConvEscalated)
		values[":nows"] = nv(now.Unix())
	case c.RefuseEscalated:
		u.ConditionExpression = aws.String("attribute_not_exists(pk) OR #st <> :esc OR #exp < :nows")
		values[":esc"] = sv(ConvEscalated)
		values[":nows"] = nv(now.Unix())
	}
	return u
}

// ownRetry reports that the claim failed on the lease this very call
// wrote: the SDK repeated a write whose answer was lost (a connection cut
// after the request arrived), and the first attempt succeeded. The token is
// random per call, so no other caller can hold it.
func ownRetry(old map[string]types.AttributeValue, l *Lease) bool {
	return l.token != "" && getS(old, "token") == l.token
}

func (s *Store) duplicate(c Claim, old map[string]types.AttributeValue, now time.Time) error {
	d := &DuplicateError{Key: c.Key, Status: getS(old, "status")}
	if d.Status == "" {
		d.Status = StatusInProgress // no item returned: be safe, ask for a retry
	}
	if d.Status == StatusInProgress {
		d.RetryAfter = max(time.UnixMilli(getN(old, "lease")).Sub(now), time.Second)
	}
	if h := getS(old, "hash"); h != "" && c.Hash != "" && h != c.Hash {
		d.HashDiffer = true
	}
	return d
}

// Done marks the claimed work finished. It fails with ErrLeaseLost if the
// lease ran out and another invocation took the claim.
func (s *Store) Done(ctx context.Context, l *Lease) error {
	if l == nil || l.Key == "" {
		return nil
	}
	now := s.Now()
	_, err := s.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:           aws.String(s.Table),
		Key:                 key(l.Key),
		UpdateExpression:    aws.String("SET #st = :done, #exp = :exp, #at = :now REMOVE #lease, #dlq, #payload, #reason"),
		ConditionExpression: aws.String("#token = :token"),
		ExpressionAttributeNames: map[string]string{
			"#st": "status", "#exp": "exp", "#at": "doneAt", "#lease": "lease", "#token": "token",
			"#dlq": "dlq", "#payload": "payload", "#reason": "reason",
		},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":done": sv(StatusDone), ":exp": nv(now.Add(s.doneTTL()).Unix()), ":now": nv(now.UnixMilli()),
			":token": sv(l.token),
		},
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return fmt.Errorf("finish %s: %w", l.Key, ErrLeaseLost)
	}
	if err != nil {
		return fmt.Errorf("finish %s: %w", l.Key, err)
	}
	return nil
}

// Release gives up a claim after a failure so the sender's retry can redo
// the work.
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

// MarkOnce records key as done in a single conditional write, before the work
// is done: the outbound path's budget is one DynamoDB call. A failure
// afterwards must Bury the key, which keeps the payload and lets a retry
// claim it again. replacedDead reports that a dead letter was superseded.
func (s *Store) MarkOnce(ctx context.Context, k string) (l *Lease, replacedDead bool, err error) {
	now := s.Now()
	l = &Lease{Key: k, token: newToken()}
	out, err := s.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:           aws.String(s.Table),
		Key:                 key(k),
		UpdateExpression:    aws.String("SET #st = :done, #token = :token, #at = :nowms, #exp = :exp REMOVE #dlq, #payload, #reason"),
		ConditionExpression: aws.String("attribute_not_exists(pk) OR #exp < :now OR #st = :dead"),
		ExpressionAttributeNames: map[string]string{
			"#st": "status", "#token": "token", "#at": "doneAt", "#exp": "exp", "#dlq": "dlq",
			"#payload": "payload", "#reason": "reason",
		},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":done": sv(StatusDone), ":token": sv(l.token), ":nowms": nv(now.UnixMilli()),
			":exp": nv(now.Add(s.doneTTL()).Unix()), ":now": nv(now.Unix()), ":dead": sv(StatusDead),
		},
		ReturnValues:                        types.ReturnValueAllOld,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return nil, false, s.duplicate(Claim{Key: k}, ccf.Item, now)
	}
	if err != nil {
		return nil, false, fmt.Errorf("mark %s: %w", k, err)
	}
	return l, getS(out.Attributes, "status") == StatusDead, nil
}
