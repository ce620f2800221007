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

// Conversation is what the bridge remembers about one conversation.
type Conversation struct {
	PCID       string
	Status     string
	AgentID    string
	Created    time.Time
	Updated    time.Time
	HandoverTo string            // escalation target, when escalated
	DeskAgent  string            // the human who joined a widget escalation
	Attrs      map[string]string // adapter data kept for later (e.g. user profile at start)
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
	if len(out.Item) == 0 || getN(out.Item, "exp") < s.now().Unix() {
		return nil, fmt.Errorf("%s: %w", pcid, ErrNoConversation)
	}
	c := &Conversation{
		PCID: pcid, Status: getS(out.Item, "status"), AgentID: getS(out.Item, "agentId"),
		Created: time.UnixMilli(getN(out.Item, "created")), Updated: time.UnixMilli(getN(out.Item, "updated")),
		HandoverTo: getS(out.Item, "handoverTo"), DeskAgent: getS(out.Item, "deskAgent"),
	}
	if m, ok := out.Item["attrs"].(*types.AttributeValueMemberM); ok {
		c.Attrs = map[string]string{}
		for k, v := range m.Value {
			if sv, ok := v.(*types.AttributeValueMemberS); ok {
				c.Attrs[k] = sv.Value
			}
		}
	}
	return c, nil
}

// SetStatus moves a conversation to status, creating it if needed. For an
// escalation, handoverTo records the target.
func (s *Store) SetStatus(ctx context.Context, pcid, agentID, status, handoverTo string) error {
	now := s.now()
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

// SetAttrs stores adapter data on a conversation (merged, string values).
func (s *Store) SetAttrs(ctx context.Context, pcid string, attrs map[string]string) error {
	if len(attrs) == 0 {
		return nil
	}
	now := s.now()
	m := make(map[string]types.AttributeValue, len(attrs))
	for k, v := range attrs {
		m[k] = sv(v)
	}
	_, err := s.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.Table), Key: key(ConvKey(pcid)),
		UpdateExpression:         aws.String("SET #at = :attrs, #up = :now, #cr = if_not_exists(#cr, :now), #exp = :exp, #st = if_not_exists(#st, :active)"),
		ExpressionAttributeNames: map[string]string{"#at": "attrs", "#up": "updated", "#cr": "created", "#exp": "exp", "#st": "status"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":attrs": &types.AttributeValueMemberM{Value: m}, ":now": nv(now.UnixMilli()),
			":exp": nv(now.Add(s.convTTL()).Unix()), ":active": sv(ConvActive),
		},
	})
	if err != nil {
		return fmt.Errorf("store attributes of %s: %w", pcid, err)
	}
	return nil
}

// SetDeskAgent records the human who joined a widget escalation; an empty
// name clears it.
func (s *Store) SetDeskAgent(ctx context.Context, pcid, name string) error {
	now := s.now()
	in := &dynamodb.UpdateItemInput{
		TableName: aws.String(s.Table), Key: key(ConvKey(pcid)),
		ExpressionAttributeNames: map[string]string{"#da": "deskAgent", "#up": "updated", "#exp": "exp"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":now": nv(now.UnixMilli()), ":exp": nv(now.Add(s.convTTL()).Unix()),
		},
	}
	if name == "" {
		in.UpdateExpression = aws.String("SET #up = :now, #exp = :exp REMOVE #da")
	} else {
		in.UpdateExpression = aws.String("SET #up = :now, #exp = :exp, #da = :da")
		in.ExpressionAttributeValues[":da"] = sv(name)
	}
	if _, err := s.DB.UpdateItem(ctx, in); err != nil {
		return fmt.Errorf("set desk agent of %s: %w", pcid, err)
	}
	return nil
}
