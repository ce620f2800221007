package tenant

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// GetItemAPI is the one DynamoDB call the loader makes.
type GetItemAPI interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
}

var _ GetItemAPI = (*dynamodb.Client)(nil)

// ErrNotFound means there is no such item.
var ErrNotFound = errors.New("not configured")

// Loader reads configuration items and caches them, found or not, for TTL:
// config changes take effect within a minute and the warm path makes no
// DynamoDB call for configuration.
type Loader struct {
	DB            GetItemAPI
	Table         string
	TTL           time.Duration // default 60 s
	Now           func() time.Time
	CheckSettings func(source string, settings json.RawMessage) error
	CheckTeams    func(json.RawMessage) error
	CheckAction   func(*Action) error
	CheckURL      func(string) error // item URLs (egress.Client.CheckURL); nil is strict

	mu    sync.Mutex
	cache map[string]cached
}

type cached struct {
	val     any
	err     error
	expires time.Time
}

// Source returns the enabled-or-not configuration of a source account.
func (l *Loader) Source(ctx context.Context, source, account string) (*Source, error) {
	v, err := l.load(ctx, SourceKey(source, account), ConfigSK, func(it Item) (any, error) {
		return ParseSource(it, l.CheckSettings)
	})
	if err != nil {
		return nil, err
	}
	return v.(*Source), nil
}

// Agent returns an agent's configuration.
func (l *Loader) Agent(ctx context.Context, agentID string) (*Agent, error) {
	v, err := l.load(ctx, AgentKey(agentID), ConfigSK, func(it Item) (any, error) {
		return ParseAgent(it, l.CheckTeams, l.CheckURL)
	})
	if err != nil {
		return nil, err
	}
	return v.(*Agent), nil
}

// Action returns an agent's action by name.
func (l *Loader) Action(ctx context.Context, agentID, name string) (*Action, error) {
	v, err := l.load(ctx, AgentKey(agentID), ActionSK(name), func(it Item) (any, error) {
		return ParseAction(it, l.CheckAction)
	})
	if err != nil {
		return nil, err
	}
	return v.(*Action), nil
}

func (l *Loader) load(ctx context.Context, pk, sk string, parse func(Item) (any, error)) (any, error) {
	key := pk + "\x00" + sk
	now := l.now()
	l.mu.Lock()
	if c, ok := l.cache[key]; ok && now.Before(c.expires) {
		l.mu.Unlock()
		return c.val, c.err
	}
	l.mu.Unlock()

	out, err := l.DB.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(l.Table),
		Key: map[string]types.AttributeValue{
			"pk": &types.AttributeValueMemberS{Value: pk},
			"sk": &types.AttributeValueMemberS{Value: sk},
		},
	})
	if err != nil {
		// Not cached: a transient failure should not stick for a minute.
		return nil, fmt.Errorf("read %s: %w", Name(pk, sk), err)
	}
	var val any
	if len(out.Item) == 0 {
		err = fmt.Errorf("%s: %w", Name(pk, sk), ErrNotFound)
	} else {
		val, err = parse(out.Item)
	}
	ttl := l.TTL
	if ttl <= 0 {
		ttl = time.Minute
	}
	l.mu.Lock()
	if l.cache == nil {
		l.cache = map[string]cached{}
	}
	l.cache[key] = cached{val: val, err: err, expires: now.Add(ttl)}
	l.mu.Unlock()
	return val, err
}

func (l *Loader) now() time.Time {
	if l.Now != nil {
		return l.Now()
	}
	return time.Now()
}
