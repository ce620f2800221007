package state

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// A transcript is a ring of the last turns of a conversation, for accounts
// that keep one. It lives beside the conversation item, never in it: the
// conversation item is read and written on every message, and DynamoDB
// charges by item size, so a transcript inside it would make every message
// cost more. The ring is a head item TURNS#{pcid} (seq: the turns recorded;
// epoch: which ring the slots belong to) and one item per slot
// TURN#{seq mod size}#{pcid} (the slot number first: a pcid may hold any
// printable character, '#' too, so only that order keeps keys apart).
// Recording a turn is one small update of the
// head and one put of the slot (≈ 2 write units), whatever the transcript's
// length; reading it (at a handover, rarely) is one read per turn. Dropping
// the head forgets the transcript at once: its slots belong to the old
// epoch and are ignored until TTL deletes them.

// Turn is one recorded message.
type Turn struct {
	From string
	Text string
	At   time.Time
}

// TranscriptKey is the head item of a conversation's transcript.
func TranscriptKey(pcid string) string { return "TURNS#" + pcid }

func slotKey(pcid string, seq int64, size int) string {
	return "TURN#" + strconv.FormatInt(seq%int64(size), 10) + "#" + pcid
}

// AppendTurn records a turn in a ring of size turns that lives ttl after its
// last turn. The text is stored as given: bound and mask it first.
func (s *Store) AppendTurn(ctx context.Context, pcid string, t Turn, size int, ttl time.Duration) error {
	if size < 1 {
		return fmt.Errorf("transcript of %s: size %d", pcid, size)
	}
	now := s.Now()
	exp := nv(now.Add(ttl).Unix())
	out, err := s.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                aws.String(s.Table),
		Key:                      key(TranscriptKey(pcid)),
		UpdateExpression:         aws.String("SET #seq = if_not_exists(#seq, :zero) + :one, #ep = if_not_exists(#ep, :ep), #exp = :exp"),
		ExpressionAttributeNames: map[string]string{"#seq": "seq", "#ep": "epoch", "#exp": "exp"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":zero": nv(0), ":one": nv(1), ":ep": sv(newToken()), ":exp": exp,
		},
		ReturnValues: types.ReturnValueAllNew,
	})
	if err != nil {
		return fmt.Errorf("count a turn of %s: %w", pcid, err)
	}
	seq := getN(out.Attributes, "seq")
	_, err = s.DB.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(s.Table),
		Item: map[string]types.AttributeValue{
			"pk": sv(slotKey(pcid, seq, size)), "epoch": sv(getS(out.Attributes, "epoch")), "seq": nv(seq),
			"from": sv(t.From), "text": sv(t.Text), "at": nv(t.At.UnixMilli()), "exp": exp,
		},
	})
	if err != nil {
		return fmt.Errorf("record a turn of %s: %w", pcid, err)
	}
	return nil
}

// Transcript returns the last size turns of a conversation, oldest first
// (none when it keeps no transcript). A slot a crashed append never wrote,
// or one of an older ring, is skipped.
func (s *Store) Transcript(ctx context.Context, pcid string, size int) ([]Turn, error) {
	head, err := s.DB.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.Table), Key: key(TranscriptKey(pcid)), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, fmt.Errorf("read transcript of %s: %w", pcid, err)
	}
	now := s.Now().Unix()
	if len(head.Item) == 0 || getN(head.Item, "exp") < now || size < 1 {
		return nil, nil
	}
	seq, epoch := getN(head.Item, "seq"), getS(head.Item, "epoch")
	first := max(seq-int64(size)+1, 1)
	turns := make([]*Turn, seq-first+1)
	errs := make([]error, len(turns))
	var wg sync.WaitGroup
	for i := range turns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n := first + int64(i)
			out, err := s.DB.GetItem(ctx, &dynamodb.GetItemInput{
				TableName: aws.String(s.Table), Key: key(slotKey(pcid, n, size)), ConsistentRead: aws.Bool(true),
			})
			if err != nil {
				errs[i] = err
				return
			}
			it := out.Item
			if len(it) == 0 || getS(it, "epoch") != epoch || getN(it, "seq") != n || getN(it, "exp") < now {
				return
			}
			turns[i] = &Turn{From: getS(it, "from"), Text: getS(it, "text"), At: time.UnixMilli(getN(it, "at"))}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("read transcript of %s: %w", pcid, err)
	}
	var list []Turn
	for _, t := range turns {
		if t != nil {
			list = append(list, *t)
		}
	}
	return list, nil
}

// DropTranscript forgets a conversation's transcript.
func (s *Store) DropTranscript(ctx context.Context, pcid string) error {
	_, err := s.DB.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(s.Table), Key: key(TranscriptKey(pcid))})
	if err != nil {
		return fmt.Errorf("drop transcript of %s: %w", pcid, err)
	}
	return nil
}
