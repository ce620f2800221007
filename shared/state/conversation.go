package state

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Conversation is what the bridge remembers about one conversation.
type Conversation struct {
	PCID       string
	Status     string
	AgentID    string
	Created    time.Time
	Updated    time.Time
	Expires    time.Time // when DynamoDB TTL may remove it (refreshed by Touch)
	HandoverTo string    // escalation target, when escalated
	DeskAgent  string    // the human who joined a widget escalation
	// Attrs is adapter data kept for later (e.g. the user profile at start)
	// and, under ParamPrefix, the session parameters sent to the AI agent.
	Attrs map[string]string
}

// ParamPrefix marks, in Conversation.Attrs, the session parameters the
// bridge last sent to the AI agent (startSession, metadata): "param.plan"
// → "gold". Values of parameters sent with sanitize are stored as Masked,
// so personal data is never kept for this.
const ParamPrefix = "param."

// Masked is the stored value of a sanitized session parameter.
const Masked = "***"

// Params returns the session parameters the bridge sent (sanitized ones
// Masked), by key.
func (c *Conversation) Params() map[string]string {
	out := map[string]string{}
	for k, v := range c.Attrs {
		if p, ok := strings.CutPrefix(k, ParamPrefix); ok {
			out[p] = v
		}
	}
	return out
}

// ErrNoConversation means the conversation is unknown or expired.
var ErrNoConversation = errors.New("conversation not found")

// Conversation reads a conversation with a strongly consistent read.
func (s *Store) Conversation(ctx context.Context, pcid string) (*Conversation, error) {
	out, err := s.DB.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.Table), Key: key(ConvKey(pcid)), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, fmt.Errorf("read conversation %s: %w", pcid, err)
	}
	c := s.conversationFrom(pcid, out.Item)
	if c == nil {
		return nil, fmt.Errorf("%s: %w", pcid, ErrNoConversation)
	}
	return c, nil
}

// conversationFrom decodes a conversation item; nil when there is none or
// it expired (TTL deletes late).
func (s *Store) conversationFrom(pcid string, it map[string]types.AttributeValue) *Conversation {
	if len(it) == 0 || getN(it, "exp") < s.Now().Unix() {
		return nil
	}
	c := &Conversation{
		PCID: pcid, Status: getS(it, "status"), AgentID: getS(it, "agentId"),
		Created: time.UnixMilli(getN(it, "created")), Updated: time.UnixMilli(getN(it, "updated")),
		Expires:    time.Unix(getN(it, "exp"), 0),
		HandoverTo: getS(it, "handoverTo"), DeskAgent: getS(it, "deskAgent"),
	}
	for k, v := range it {
		if strings.HasPrefix(k, attrPrefix) {
			if sv, ok := v.(*types.AttributeValueMemberS); ok {
				if c.Attrs == nil {
					c.Attrs = map[string]string{}
				}
				c.Attrs[strings.TrimPrefix(k, attrPrefix)] = sv.Value
			}
		}
	}
	return c
}

// SetStatus moves a conversation to status, creating it if needed. For an
// escalation, handoverTo records the target.
func (s *Store) SetStatus(ctx context.Context, pcid, agentID, status, handoverTo string) error {
	now := s.Now()
	names := map[string]string{"#st": "status", "#up": "updated", "#cr": "created", "#exp": "exp"}
	values := map[string]types.AttributeValue{
		":st": sv(status), ":now": nv(now.UnixMilli()), ":exp": nv(now.Add(s.convTTL()).Unix()),
	}
	expr := "SET #st = :st, #up = :now, #cr = if_not_exists(#cr, :now), #exp = :exp"
	if agentID != "" {
		expr += ", #ag = :ag"
		names["#ag"] = "agentId"
		values[":ag"] = sv(agentID)
	}
	if handoverTo != "" {
		expr += ", #ho = :ho"
		names["#ho"] = "handoverTo"
		values[":ho"] = sv(handoverTo)
	}
	_, err := s.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.Table), Key: key(ConvKey(pcid)), UpdateExpression: aws.String(expr),
		ExpressionAttributeNames: names, ExpressionAttributeValues: values,
	})
	if err != nil {
		return fmt.Errorf("set conversation %s to %s: %w", pcid, status, err)
	}
	return nil
}

// attrPrefix marks adapter data on a conversation item. Each value is its
// own attribute so writes merge without reading first.
const attrPrefix = "a_"

// attrSets appends ", #a0 = :a0, ..." for attrs to an update expression.
func attrSets(attrs map[string]string, names map[string]string, values map[string]types.AttributeValue) string {
	keys := make([]string, 0, len(attrs))
	for k := range attrs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		n, v := fmt.Sprintf("#a%d", i), fmt.Sprintf(":a%d", i)
		names[n] = attrPrefix + k
		values[v] = sv(attrs[k])
		b.WriteString(", " + n + " = " + v)
	}
	return b.String()
}

// SetAttrs merges adapter data onto a conversation (string values).
func (s *Store) SetAttrs(ctx context.Context, pcid string, attrs map[string]string) error {
	if len(attrs) == 0 {
		return nil
	}
	now := s.Now()
	names := map[string]string{"#up": "updated", "#cr": "created", "#exp": "exp", "#st": "status"}
	values := map[string]types.AttributeValue{
		":now": nv(now.UnixMilli()), ":exp": nv(now.Add(s.convTTL()).Unix()), ":active": sv(ConvActive),
	}
	expr := "SET #up = :now, #cr = if_not_exists(#cr, :now), #exp = :exp, #st = if_not_exists(#st, :active)" + attrSets(attrs, names, values)
	_, err := s.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.Table), Key: key(ConvKey(pcid)), UpdateExpression: aws.String(expr),
		ExpressionAttributeNames: names, ExpressionAttributeValues: values,
	})
	if err != nil {
		return fmt.Errorf("store attributes of %s: %w", pcid, err)
	}
	return nil
}

// ConvChange is a state change of a conversation that later requests
// depend on, written when the platform's event is accepted: started (with
// the adapter's data and the session parameters), ended or handed back, a
// desk agent joined or left.
type ConvChange struct {
	PCID    string
	AgentID string
	// SetStatus sets the status; empty keeps it (a new item gets active).
	SetStatus string
	// RequireNew makes the write fail with ErrExists when a live
	// conversation the AI agent is handling already has this ID (platforms
	// that create conversations explicitly and expect a conflict answer,
	// like LivePerson). Ended and escalated conversations may be created
	// again: a conversation handed back to the bot is the bot's anew.
	RequireNew bool
	// Attrs are merged onto the conversation (see Conversation.Attrs).
	Attrs map[string]string
	// DeskAgent, when set, records the human who joined a widget
	// escalation; pointing at "" clears it.
	DeskAgent *string
}

// ChangeConversation writes c in one conditional update.
func (s *Store) ChangeConversation(ctx context.Context, c ConvChange) error {
	now := s.Now()
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
	remove := ""
	if c.DeskAgent != nil {
		names["#da"] = "deskAgent"
		if *c.DeskAgent == "" {
			remove = " REMOVE #da"
		} else {
			expr += ", #da = :da"
			values[":da"] = sv(*c.DeskAgent)
		}
	}
	in := &dynamodb.UpdateItemInput{
		TableName: aws.String(s.Table), Key: key(ConvKey(c.PCID)), UpdateExpression: aws.String(expr + remove),
		ExpressionAttributeNames: names, ExpressionAttributeValues: values,
	}
	if c.RequireNew {
		in.ConditionExpression = aws.String("attribute_not_exists(pk) OR #st IN (:ended, :esc) OR #exp < :nows")
		values[":ended"] = sv(ConvEnded)
		values[":esc"] = sv(ConvEscalated)
		values[":nows"] = nv(now.Unix())
	}
	_, err := s.DB.UpdateItem(ctx, in)
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return fmt.Errorf("conversation %s: %w", c.PCID, ErrExists)
	}
	if err != nil {
		return fmt.Errorf("change conversation %s: %w", c.PCID, err)
	}
	return nil
}

// Touch moves an existing conversation's expiry forward. Messages do not
// write the conversation (their budget is the one claim), so a long one is
// touched when its item is read and found past half its time to live.
func (s *Store) Touch(ctx context.Context, pcid string) error {
	now := s.Now()
	_, err := s.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.Table), Key: key(ConvKey(pcid)),
		UpdateExpression:          aws.String("SET #up = :now, #exp = :exp"),
		ConditionExpression:       aws.String("attribute_exists(pk)"),
		ExpressionAttributeNames:  map[string]string{"#up": "updated", "#exp": "exp"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":now": nv(now.UnixMilli()), ":exp": nv(now.Add(s.convTTL()).Unix())},
	})
	var ccf *types.ConditionalCheckFailedException
	if err != nil && !errors.As(err, &ccf) {
		return fmt.Errorf("touch conversation %s: %w", pcid, err)
	}
	return nil
}

// Stale reports that c should be touched: past half its time to live.
func (s *Store) Stale(c *Conversation) bool {
	return c.Expires.Sub(s.Now()) < s.convTTL()/2
}
