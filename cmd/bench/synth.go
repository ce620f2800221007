package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go/logging"

	"github.com/crmbridge/crmbridge/shared/awsconf"
	"github.com/crmbridge/crmbridge/shared/localstack"
)

// synthResult is one emulator's run of the DynamoDB synthetic.
type synthResult struct {
	messages, calls int
	noItem          int // failed conditions without ReturnValuesOnConditionCheckFailure's item
	elapsed         time.Duration
	p50, p99        time.Duration // per message (its calls in sequence)
}

func (r synthResult) perSecond() float64 { return float64(r.messages) / r.elapsed.Seconds() }

// synthetic runs, at the given concurrency, what the durable delivery path
// asks of DynamoDB per visitor message with no transaction: a conditional
// claim (PutItem attribute_not_exists, ReturnValuesOnConditionCheckFailure),
// a strongly consistent read of the conversation, and a conditional update
// of the claim; every tenth message also repeats its claim, which must
// fail the condition and return the item. The State table is the real one
// (with its dead-letter index) and grows as the run goes on.
func synthetic(ctx context.Context, endpoint string, messages, concurrency, conversations int) (synthResult, error) {
	cfg, err := awsconf.Local(ctx, endpoint)
	if err != nil {
		return synthResult{}, err
	}
	cfg.Logger = logging.Nop{} // an emulator's odd checksum header must not flood the output
	db := dynamodb.NewFromConfig(cfg)
	table := fmt.Sprintf("synth-%d", time.Now().UnixNano())
	if _, err := db.CreateTable(ctx, localstack.StateTableInput(table)); err != nil {
		return synthResult{}, fmt.Errorf("create the State table: %w", err)
	}
	if err := dynamodb.NewTableExistsWaiter(db, func(o *dynamodb.TableExistsWaiterOptions) { o.MinDelay = 50 * time.Millisecond }).
		Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table)}, time.Minute); err != nil {
		return synthResult{}, fmt.Errorf("wait for the State table: %w", err)
	}
	s := func(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
	key := func(pk string) map[string]types.AttributeValue { return map[string]types.AttributeValue{"pk": s(pk)} }
	for c := range conversations {
		if _, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: map[string]types.AttributeValue{
			"pk": s("CONV#synth:" + strconv.Itoa(c)), "status": s("active"), "agent": s("64f1c0ffee0ddba11ad0be57"),
		}}); err != nil {
			return synthResult{}, fmt.Errorf("seed conversations: %w", err)
		}
	}
	var missingItem atomic.Int64 // failed conditions that did not return the item
	one := func(i int) error {
		ev := "EVENT#generic#synth-" + strconv.Itoa(i)
		claim := &dynamodb.PutItemInput{
			TableName: aws.String(table),
			Item: map[string]types.AttributeValue{
				"pk": s(ev), "status": s("queued"), "token": s("t" + strconv.Itoa(i)),
				"exp": &types.AttributeValueMemberN{Value: strconv.FormatInt(time.Now().Add(48*time.Hour).Unix(), 10)},
			},
			ConditionExpression:                 aws.String("attribute_not_exists(pk)"),
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		}
		if _, err := db.PutItem(ctx, claim); err != nil {
			return fmt.Errorf("claim: %w", err)
		}
		if i%10 == 0 {
			_, err := db.PutItem(ctx, claim)
			var ccf *types.ConditionalCheckFailedException
			if !errors.As(err, &ccf) {
				return fmt.Errorf("repeated claim: want a failed condition, got %v", err)
			}
			if ccf.Item["token"] == nil {
				missingItem.Add(1)
			}
		}
		out, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table), Key: key("CONV#synth:" + strconv.Itoa(i%conversations)), ConsistentRead: aws.Bool(true)})
		if err != nil || out.Item == nil {
			return fmt.Errorf("read the conversation: %v", err)
		}
		_, err = db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: aws.String(table), Key: key(ev),
			UpdateExpression:          aws.String("SET #s = :done"),
			ConditionExpression:       aws.String("#s = :queued AND #t = :token"),
			ExpressionAttributeNames:  map[string]string{"#s": "status", "#t": "token"},
			ExpressionAttributeValues: map[string]types.AttributeValue{":done": s("done"), ":queued": s("queued"), ":token": s("t" + strconv.Itoa(i))},
		})
		if err != nil {
			return fmt.Errorf("complete: %w", err)
		}
		return nil
	}
	var (
		next     atomic.Int64
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
		lat      = make([]time.Duration, messages)
	)
	start := time.Now()
	for range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= messages || ctx.Err() != nil {
					return
				}
				t0 := time.Now()
				if err := one(i); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = fmt.Errorf("message %d: %w", i, err)
					}
					mu.Unlock()
					next.Store(int64(messages))
					return
				}
				lat[i] = time.Since(t0)
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return synthResult{}, firstErr
	}
	r := synthResult{noItem: int(missingItem.Load()), messages: messages, calls: messages*3 + (messages+9)/10, elapsed: time.Since(start)}
	r.p50, r.p99 = percentile(lat, 0.50), percentile(lat, 0.99)
	return r, nil
}

func synthOnly(ctx context.Context, spec string) error {
	for _, kv := range splitList(spec) {
		name, url, _ := cutPair(kv)
		if _, err := synthetic(ctx, url, 300, 32, 200); err != nil { // warm-up (a JVM compiles its hot paths)
			return fmt.Errorf("%s: %w", name, err)
		}
		r, err := synthetic(ctx, url, 2000, 32, 200)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		fmt.Printf("%-16s %6.0f msg/s  %6.0f calls/s  p50 %6.1f ms  p99 %6.1f ms  (%d messages in %s; %d failed conditions without the item)\n", name, r.perSecond(), float64(r.calls)/r.elapsed.Seconds(), ms(r.p50), ms(r.p99), r.messages, r.elapsed.Round(time.Millisecond), r.noItem)
	}
	return nil
}
