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

// Addressed conversations: for a platform whose natural conversation key is
// personal data (Twilio: the tenant's number and the visitor's number), the
// platformConversationId carries an opaque ID instead, and these two items
// map between them.
//
//	ADDR#{source}#{account}#{hash}     the address item: the current ID, opt-out, the last
//	                                   bot message's reply options, the visitor's last message
//	ADDRID#{source}#{account}#{id}     the ID item: the adapter's encoding of the address
//
// hash is the adapter's digest of the natural key, so keys (which reach logs)
// never hold a phone number; the ID item holds the address itself, because
// the bridge must know where to send. Closing a conversation removes the ID
// from the address item: the next visitor message gets a new ID (a fresh
// conversation for the AI agent) while late bot messages to the old ID still
// reach the visitor. No transaction: the ID item is written first, so an
// address item never names an ID without its address; an ID item orphaned by
// a lost race expires with its TTL.

// AddressKey is the key of an address item.
func AddressKey(source, account, hash string) string {
	return "ADDR#" + source + "#" + account + "#" + hash
}

// AddressIDKey is the key of an ID item.
func AddressIDKey(source, account, id string) string {
	return "ADDRID#" + source + "#" + account + "#" + id
}

// ErrNoAddress means the conversation ID is unknown or its mapping expired.
var ErrNoAddress = errors.New("no address for this conversation")

// Address is one addressed conversation.
type Address struct {
	Source, Account, Hash string
	// ID is the opaque conversation ID: the one opened, or the one looked up.
	ID string
	// Current reports that the address item still maps to ID (false after
	// the conversation was closed and the visitor started a new one).
	Current bool
	// Created reports that OpenAddress minted ID.
	Created bool
	// Value is the adapter's encoding of the address (personal data); set
	// by Address and by OpenAddress.
	Value    string
	OptedOut bool
	// Options is adapter data about the last bot message (its reply
	// options), replaced by every bot message.
	Options string
	// Sending names the last bot message whose sending started, and when:
	// a later attempt for the same message knows it is a retry.
	Sending   string
	SendingAt time.Time
	// LastIn is when the visitor's activity was last recorded (coarse: see
	// NoteVisitor).
	LastIn time.Time
}

func (a *Address) key() map[string]types.AttributeValue {
	return key(AddressKey(a.Source, a.Account, a.Hash))
}

func (s *Store) readAddress(ctx context.Context, a *Address) (map[string]types.AttributeValue, error) {
	out, err := s.DB.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.Table), Key: a.key(), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, fmt.Errorf("read address %s: %w", a.Hash, err)
	}
	if len(out.Item) == 0 || getN(out.Item, "exp") < s.Now().Unix() {
		return nil, nil
	}
	return out.Item, nil
}

func (a *Address) fill(it map[string]types.AttributeValue) {
	a.OptedOut = getN(it, "optOut") == 1
	a.Options = getS(it, "options")
	a.Sending = getS(it, "sending")
	if ms := getN(it, "sendingAt"); ms > 0 {
		a.SendingAt = time.UnixMilli(ms)
	}
	if ms := getN(it, "lastIn"); ms > 0 {
		a.LastIn = time.UnixMilli(ms)
	}
	a.Current = a.ID != "" && getS(it, "conv") == a.ID
}

// OpenAddress returns the conversation mapped to an address, minting an ID
// with newID when there is none (first contact, closed, or expired). Two
// concurrent first messages agree on one ID: the loser of the conditional
// write reads the winner's.
func (s *Store) OpenAddress(ctx context.Context, source, account, hash, value string, newID func() string) (*Address, error) {
	a := &Address{Source: source, Account: account, Hash: hash, Value: value}
	for range 3 {
		it, err := s.readAddress(ctx, a)
		if err != nil {
			return nil, err
		}
		if conv := getS(it, "conv"); conv != "" {
			a.ID = conv
			a.fill(it)
			return a, nil
		}
		a.ID = newID()
		now := s.Now()
		exp := nv(now.Add(s.convTTL()).Unix())
		// UpdateItem, not PutItem: the functions' grants on the State table
		// are GetItem, UpdateItem and DeleteItem.
		_, err = s.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: aws.String(s.Table), Key: key(AddressIDKey(source, account, a.ID)),
			UpdateExpression:         aws.String("SET #addr = :addr, #hash = :hash, #exp = :exp, #cr = :cr"),
			ExpressionAttributeNames: map[string]string{"#addr": "addr", "#hash": "hash", "#exp": "exp", "#cr": "created"},
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":addr": sv(value), ":hash": sv(hash), ":exp": exp, ":cr": nv(now.UnixMilli()),
			},
		})
		if err != nil {
			return nil, fmt.Errorf("store address of %s: %w", a.ID, err)
		}
		names := map[string]string{"#conv": "conv", "#exp": "exp", "#in": "lastIn", "#opt": "options", "#snd": "sending", "#sat": "sendingAt"}
		values := map[string]types.AttributeValue{":id": sv(a.ID), ":exp": exp, ":now": nv(now.Unix()), ":in": nv(now.UnixMilli())}
		expr := "SET #conv = :id, #exp = :exp, #in = :in REMOVE #opt, #snd, #sat"
		if it == nil {
			// A new or expired address starts without the old opt-out.
			expr += ", #out"
			names["#out"] = "optOut"
		}
		_, err = s.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: aws.String(s.Table), Key: a.key(), UpdateExpression: aws.String(expr),
			ConditionExpression:      aws.String("attribute_not_exists(#conv) OR #exp < :now"),
			ExpressionAttributeNames: names, ExpressionAttributeValues: values,
		})
		var ccf *types.ConditionalCheckFailedException
		if errors.As(err, &ccf) {
			continue // another request mapped it first: read theirs
		}
		if err != nil {
			return nil, fmt.Errorf("map address %s: %w", hash, err)
		}
		a.Created, a.Current, a.LastIn = true, true, now
		a.OptedOut = it != nil && getN(it, "optOut") == 1
		return a, nil
	}
	return nil, fmt.Errorf("map address %s: it kept changing under concurrent writes", hash)
}

// Address looks up a conversation's address by its ID, with the address
// item's state.
func (s *Store) Address(ctx context.Context, source, account, id string) (*Address, error) {
	out, err := s.DB.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.Table), Key: key(AddressIDKey(source, account, id)), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, fmt.Errorf("read address of %s: %w", id, err)
	}
	if len(out.Item) == 0 || getN(out.Item, "exp") < s.Now().Unix() {
		return nil, fmt.Errorf("%s: %w", id, ErrNoAddress)
	}
	a := &Address{Source: source, Account: account, ID: id, Hash: getS(out.Item, "hash"), Value: getS(out.Item, "addr")}
	it, err := s.readAddress(ctx, a)
	if err != nil {
		return nil, err
	}
	a.fill(it)
	return a, nil
}

// NoteBotMessage records, in one write, the reply options of a bot message
// about to be sent (empty clears the last ones) and its key, so a retry of
// the same message knows it is one. It writes only while the address still
// maps to a.ID; after a close the new conversation's options are left alone
// (and the answer is nil: the send goes on).
func (s *Store) NoteBotMessage(ctx context.Context, a *Address, options, sending string) error {
	now := s.Now()
	names := map[string]string{"#conv": "conv", "#snd": "sending", "#sat": "sendingAt", "#opt": "options"}
	values := map[string]types.AttributeValue{":id": sv(a.ID), ":snd": sv(sending), ":sat": nv(now.UnixMilli())}
	expr := "SET #snd = :snd, #sat = :sat"
	if options == "" {
		expr += " REMOVE #opt"
	} else {
		expr += ", #opt = :opt"
		values[":opt"] = sv(options)
	}
	_, err := s.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.Table), Key: a.key(), UpdateExpression: aws.String(expr),
		ConditionExpression: aws.String("#conv = :id"), ExpressionAttributeNames: names, ExpressionAttributeValues: values,
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		a.Current = false
		return nil
	}
	if err != nil {
		return fmt.Errorf("note bot message on %s: %w", a.ID, err)
	}
	a.Options, a.Sending, a.SendingAt = options, sending, now
	return nil
}

// NoteVisitor records the visitor's activity and extends both items' life.
// Callers write it only when LastIn is older than their granularity, so an
// active conversation costs these two writes a few times an hour, not per
// message.
func (s *Store) NoteVisitor(ctx context.Context, a *Address) error {
	now := s.Now()
	exp := nv(now.Add(s.convTTL()).Unix())
	_, err := s.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.Table), Key: a.key(), UpdateExpression: aws.String("SET #in = :in, #exp = :exp"),
		ConditionExpression:       aws.String("#conv = :id"),
		ExpressionAttributeNames:  map[string]string{"#in": "lastIn", "#exp": "exp", "#conv": "conv"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":in": nv(now.UnixMilli()), ":exp": exp, ":id": sv(a.ID)},
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return nil // closed meanwhile: the next message opens a new one
	}
	if err != nil {
		return fmt.Errorf("note visitor on %s: %w", a.ID, err)
	}
	_, err = s.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.Table), Key: key(AddressIDKey(a.Source, a.Account, a.ID)), UpdateExpression: aws.String("SET #exp = :exp"),
		ConditionExpression:       aws.String("attribute_exists(#exp)"),
		ExpressionAttributeNames:  map[string]string{"#exp": "exp"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":exp": exp},
	})
	if err != nil && !errors.As(err, &ccf) {
		return fmt.Errorf("extend address of %s: %w", a.ID, err)
	}
	a.LastIn = now
	return nil
}

// SetOptOut records the visitor's opt-out (STOP) or opt-in (START) on the
// address, whichever conversation it maps to: it outlives closes.
func (s *Store) SetOptOut(ctx context.Context, a *Address, out bool) error {
	v := int64(0)
	if out {
		v = 1
	}
	_, err := s.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.Table), Key: a.key(), UpdateExpression: aws.String("SET #out = :v"),
		ConditionExpression:       aws.String("attribute_exists(#exp)"),
		ExpressionAttributeNames:  map[string]string{"#out": "optOut", "#exp": "exp"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":v": nv(v)},
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return fmt.Errorf("set opt-out on %s: %w", a.Hash, ErrNoAddress)
	}
	if err != nil {
		return fmt.Errorf("set opt-out on %s: %w", a.Hash, err)
	}
	a.OptedOut = out
	return nil
}

// CloseAddress unmaps a.ID from its address, so the visitor's next message
// opens a new conversation. Closing a conversation that is no longer
// current is a no-op.
func (s *Store) CloseAddress(ctx context.Context, a *Address) error {
	_, err := s.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.Table), Key: a.key(), UpdateExpression: aws.String("REMOVE #conv, #opt, #snd, #sat"),
		ConditionExpression:       aws.String("#conv = :id"),
		ExpressionAttributeNames:  map[string]string{"#conv": "conv", "#opt": "options", "#snd": "sending", "#sat": "sendingAt"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":id": sv(a.ID)},
	})
	var ccf *types.ConditionalCheckFailedException
	if err != nil && !errors.As(err, &ccf) {
		return fmt.Errorf("close %s: %w", a.ID, err)
	}
	a.Current = false
	return nil
}

// SeenKey is the key of a MarkSeen record.
func SeenKey(source, account, id string) string { return "SEEN#" + source + "#" + account + "#" + id }

// MarkSeen records key once for ttl: first is false when it was already
// recorded (and not expired). It is the dedupe of requests that are not
// events of the inbound pipeline (a desk's replies).
func (s *Store) MarkSeen(ctx context.Context, k string, ttl time.Duration) (first bool, err error) {
	now := s.Now()
	_, err = s.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.Table), Key: key(k),
		UpdateExpression:          aws.String("SET #exp = :exp, #at = :at"),
		ConditionExpression:       aws.String("attribute_not_exists(pk) OR #exp < :now"),
		ExpressionAttributeNames:  map[string]string{"#exp": "exp", "#at": "at"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":now": nv(now.Unix()), ":exp": nv(now.Add(ttl).Unix()), ":at": nv(now.UnixMilli())},
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("mark %s: %w", k, err)
	}
	return true, nil
}

// ForgetSeen deletes a MarkSeen record whose work failed, so a retry can do
// it.
func (s *Store) ForgetSeen(ctx context.Context, k string) error {
	if _, err := s.DB.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(s.Table), Key: key(k)}); err != nil {
		return fmt.Errorf("forget %s: %w", k, err)
	}
	return nil
}
