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

// SetDeskAgent records the human who joined a widget escalation; an empty
// name clears it.
func (s *Store) SetDeskAgent(ctx context.Context, pcid, name string) error {
	now := s.Now()
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
