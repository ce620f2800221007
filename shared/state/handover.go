package state

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// ErrLeaseLost means another call took over a claim that had lapsed.
var ErrLeaseLost = errors.New("claim lost to another call")

// A handover is claimed on the conversation item itself, so one conditional
// write decides which of any number of concurrent or repeated calls hands
// the conversation over, and the item stays the one place every waiter
// reads. The attributes (all on CONV#{pcid}):
//
//	hoTok   the live claim's token (also its barrier token)
//	hoLease when the claim lapses (Unix ms): a caller that gave up or died
//	        is taken over after it
//	hoId    the handover's ID, kept across attempts until one succeeds (the
//	        platform's dedupe key)
//	hoAck   the barrier token the outbound consumer acknowledged
//	hoRes   the token of the last attempt that finished without success
//	hoErr   that attempt's failure (JSON: status, code, message)
//	hoText  the fallback text was sent for hoId
const (
	attrHoToken  = "hoTok"
	attrHoLease  = "hoLease"
	attrHoID     = "hoId"
	attrHoAck    = "hoAck"
	attrHoResult = "hoRes"
	attrHoError  = "hoErr"
	attrHoText   = "hoText"
)

// ErrAlreadyEscalated means the conversation is with a human already.
var ErrAlreadyEscalated = errors.New("conversation is already escalated")

// HandoverBusyError means another live claim holds the handover.
type HandoverBusyError struct {
	PCID  string
	Token string
	Until time.Time
}

func (e *HandoverBusyError) Error() string {
	return fmt.Sprintf("handover of %s is claimed until %s", e.PCID, e.Until.UTC().Format(time.RFC3339))
}

// HandoverFailure is why an attempt failed, as the AI agent was answered;
// the callers that waited for that attempt answer the same.
type HandoverFailure struct {
	Status  int    `json:"status"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// HandoverClaim is a held handover claim.
type HandoverClaim struct {
	PCID  string
	Token string
	ID    string // stable across attempts until one succeeds
	// TextSent: an earlier attempt of this handover sent the fallback text.
	TextSent bool
	// Conv is the conversation as the claim left it (its attributes carry
	// the session parameters for the handover context).
	Conv *Conversation
}

// HandoverView is a conversation's handover state, read strongly
// consistently.
type HandoverView struct {
	Conv *Conversation // nil: no conversation, or it expired
	// Expired: an item exists but its conversation expired (a claim then
	// starts afresh).
	Expired bool
	Token   string    // the live claim's token; "" when none holds
	Until   time.Time // when that claim lapses
	Ack     string
	Result  string           // the token of the last attempt that failed
	Failure *HandoverFailure // its failure
}

// Escalated reports a conversation with a human.
func (v *HandoverView) Escalated() bool { return v.Conv != nil && v.Conv.Status == ConvEscalated }

// HandoverState reads a conversation's handover state.
func (s *Store) HandoverState(ctx context.Context, pcid string) (*HandoverView, error) {
	out, err := s.DB.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.Table), Key: key(ConvKey(pcid)), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, fmt.Errorf("read handover state of %s: %w", pcid, err)
	}
	return s.handoverView(pcid, out.Item), nil
}

func (s *Store) handoverView(pcid string, it map[string]types.AttributeValue) *HandoverView {
	v := &HandoverView{Conv: s.conversationFrom(pcid, it), Ack: getS(it, attrHoAck), Result: getS(it, attrHoResult)}
	v.Expired = len(it) > 0 && v.Conv == nil
	if tok := getS(it, attrHoToken); tok != "" {
		if until := time.UnixMilli(getN(it, attrHoLease)); !until.Before(s.Now()) {
			v.Token, v.Until = tok, until
		}
	}
	if raw := getS(it, attrHoError); raw != "" {
		var f HandoverFailure
		if json.Unmarshal([]byte(raw), &f) == nil {
			v.Failure = &f
		}
	}
	return v
}

// ClaimHandover claims a conversation's handover for lease in one
// conditional write. It fails with ErrAlreadyEscalated when the
// conversation is with a human and with a *HandoverBusyError while another
// claim is live. fresh is for an item whose conversation expired (see
// HandoverView.Expired): the claim then resets what the old conversation
// left, and holds only while the item is still expired.
func (s *Store) ClaimHandover(ctx context.Context, pcid, agentID string, lease time.Duration, fresh bool) (*HandoverClaim, error) {
	now := s.Now()
	tok := newToken()
	names := map[string]string{
		"#st": "status", "#exp": "exp", "#up": "updated", "#cr": "created",
		"#tok": attrHoToken, "#lease": attrHoLease, "#id": attrHoID, "#ack": attrHoAck,
	}
	values := map[string]types.AttributeValue{
		":esc": sv(ConvEscalated), ":active": sv(ConvActive), ":nows": nv(now.Unix()), ":nowms": nv(now.UnixMilli()),
		":exp": nv(now.Add(s.convTTL()).Unix()), ":tok": sv(tok), ":lease": nv(now.Add(lease).UnixMilli()), ":id": sv(newToken()),
	}
	set := "SET #tok = :tok, #lease = :lease, #up = :nowms, #exp = :exp"
	remove := " REMOVE #ack"
	// A live conversation not with a human and without a live claim; an
	// expired one is claimed fresh only (below), so an old escalation
	// cannot come back to life with a refreshed expiry.
	cond := "(attribute_not_exists(pk) OR #exp >= :nows) AND (attribute_not_exists(#st) OR #st <> :esc) AND (attribute_not_exists(#tok) OR #lease < :nowms)"
	if fresh {
		// What an expired conversation left must not leak into the new one:
		// its status (an old escalation), handover ID, results, desk agent.
		set += ", #id = :id, #cr = :nowms, #st = :active"
		remove += ", #res, #err, #text, #ho, #da"
		names["#res"], names["#err"], names["#text"], names["#ho"], names["#da"] = attrHoResult, attrHoError, attrHoText, "handoverTo", "deskAgent"
		cond = "attribute_not_exists(#exp) OR #exp < :nows"
		delete(values, ":esc")
	} else {
		set += ", #id = if_not_exists(#id, :id), #cr = if_not_exists(#cr, :nowms), #st = if_not_exists(#st, :active)"
	}
	if agentID != "" {
		set += ", #ag = :ag"
		names["#ag"] = "agentId"
		values[":ag"] = sv(agentID)
	}
	out, err := s.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.Table), Key: key(ConvKey(pcid)),
		UpdateExpression: aws.String(set + remove), ConditionExpression: aws.String(cond),
		ExpressionAttributeNames: names, ExpressionAttributeValues: values,
		ReturnValues:                        types.ReturnValueAllNew,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		v := s.handoverView(pcid, ccf.Item)
		switch {
		case v.Escalated():
			return nil, fmt.Errorf("%s: %w", pcid, ErrAlreadyEscalated)
		case v.Token != "":
			return nil, &HandoverBusyError{PCID: pcid, Token: v.Token, Until: v.Until}
		}
		// The item is not what the caller read (it expired, or a fresh
		// claim found it refreshed): the caller reads it again.
		return nil, &HandoverBusyError{PCID: pcid}
	}
	if err != nil {
		return nil, fmt.Errorf("claim handover of %s: %w", pcid, err)
	}
	return &HandoverClaim{
		PCID: pcid, Token: tok, ID: getS(out.Attributes, attrHoID),
		TextSent: getS(out.Attributes, attrHoText) != "", Conv: s.conversationFrom(pcid, out.Attributes),
	}, nil
}

// AckBarrier records that the outbound queue reached a handover's barrier.
// It reports false for a barrier no live claim waits for (an attempt that
// gave up): nothing to record.
func (s *Store) AckBarrier(ctx context.Context, pcid, token string) (bool, error) {
	_, err := s.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.Table), Key: key(ConvKey(pcid)),
		UpdateExpression:          aws.String("SET #ack = :tok"),
		ConditionExpression:       aws.String("#tok = :tok"),
		ExpressionAttributeNames:  map[string]string{"#ack": attrHoAck, "#tok": attrHoToken},
		ExpressionAttributeValues: map[string]types.AttributeValue{":tok": sv(token)},
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("acknowledge barrier of %s: %w", pcid, err)
	}
	return true, nil
}

// FinishHandover records a handover that succeeded: the conversation is
// escalated (to handoverTo) and the claim's attributes are gone, so a later
// hand-back and escalation start a new handover with a new ID. It fails
// with ErrLeaseLost when the claim lapsed and another call took it.
func (s *Store) FinishHandover(ctx context.Context, c *HandoverClaim, agentID, handoverTo string) error {
	now := s.Now()
	names := map[string]string{
		"#st": "status", "#up": "updated", "#exp": "exp", "#ho": "handoverTo",
		"#tok": attrHoToken, "#lease": attrHoLease, "#id": attrHoID, "#ack": attrHoAck,
		"#res": attrHoResult, "#err": attrHoError, "#text": attrHoText,
	}
	values := map[string]types.AttributeValue{
		":esc": sv(ConvEscalated), ":now": nv(now.UnixMilli()), ":exp": nv(now.Add(s.convTTL()).Unix()), ":tok": sv(c.Token),
	}
	set := "SET #st = :esc, #up = :now, #exp = :exp"
	remove := " REMOVE #tok, #lease, #id, #ack, #res, #err, #text"
	if handoverTo != "" {
		set += ", #ho = :ho"
		values[":ho"] = sv(handoverTo)
	} else {
		remove += ", #ho"
	}
	if agentID != "" {
		set += ", #ag = :ag"
		names["#ag"] = "agentId"
		values[":ag"] = sv(agentID)
	}
	_, err := s.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.Table), Key: key(ConvKey(c.PCID)),
		UpdateExpression: aws.String(set + remove), ConditionExpression: aws.String("#tok = :tok"),
		ExpressionAttributeNames: names, ExpressionAttributeValues: values,
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return fmt.Errorf("finish handover of %s: %w", c.PCID, ErrLeaseLost)
	}
	if err != nil {
		return fmt.Errorf("finish handover of %s: %w", c.PCID, err)
	}
	return nil
}

// ReleaseHandover gives a claim up after a failure, recording the failure
// for the callers that waited for this attempt. The handover ID stays, so
// the next attempt is the same handover to the platform. textSent records
// that the fallback text went out. A claim another call already took is
// left alone.
func (s *Store) ReleaseHandover(ctx context.Context, c *HandoverClaim, f HandoverFailure, textSent bool) error {
	raw, err := json.Marshal(f)
	if err != nil {
		return fmt.Errorf("encode handover failure: %w", err)
	}
	names := map[string]string{"#tok": attrHoToken, "#lease": attrHoLease, "#ack": attrHoAck, "#res": attrHoResult, "#err": attrHoError}
	values := map[string]types.AttributeValue{":tok": sv(c.Token), ":err": sv(string(raw))}
	set := "SET #res = :tok, #err = :err"
	if textSent {
		set += ", #text = :one"
		names["#text"] = attrHoText
		values[":one"] = sv("1")
	}
	_, err = s.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.Table), Key: key(ConvKey(c.PCID)),
		UpdateExpression: aws.String(set + " REMOVE #tok, #lease, #ack"), ConditionExpression: aws.String("#tok = :tok"),
		ExpressionAttributeNames: names, ExpressionAttributeValues: values,
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("release handover of %s: %w", c.PCID, err)
	}
	return nil
}
