package localstack

import (
	"context"
	"encoding/json"
	"fmt"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/crmbridge/crmbridge/shared/app"
	"github.com/crmbridge/crmbridge/shared/esm"
	"github.com/crmbridge/crmbridge/shared/queue"
	"github.com/crmbridge/crmbridge/shared/route"
)

// The queues' settings, as template.yaml has them (a test keeps them
// equal): FIFO with queue-wide deduplication on the IDs the bridge sets,
// SSE, kept 14 days (above the longest maximum age an account may set),
// and a redrive queue behind each whose maxReceiveCount is above what the
// retry schedule reaches in that time (queue.Backoff.Receives).
const (
	QueueRetentionSeconds = 14 * 24 * 3600
	QueueMaxReceiveCount  = 1000
)

// QueueAPI is what provisioning, the pollers and the handlers (through
// SDKQueue) need of SQS: the SDK's client, whose calls shared/awscount
// counts for `make bench`.
type QueueAPI interface {
	SDKSender
	esm.SQS
	CreateQueue(ctx context.Context, in *sqs.CreateQueueInput, opts ...func(*sqs.Options)) (*sqs.CreateQueueOutput, error)
}

// SDKSender is the SDK client's side of the functions' two SQS calls.
type SDKSender interface {
	SendMessage(ctx context.Context, in *sqs.SendMessageInput, opts ...func(*sqs.Options)) (*sqs.SendMessageOutput, error)
	ChangeMessageVisibility(ctx context.Context, in *sqs.ChangeMessageVisibilityInput, opts ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityOutput, error)
}

// SDKQueue makes the functions' SQS calls (app.SQS) with the SDK's client,
// for the local tools, which keep that client for what else they do. On
// AWS the functions make them with shared/queue/sqsapi, which sends the
// same requests (its tests hold it to the SDK's, byte for byte).
type SDKQueue struct{ API SDKSender }

var _ app.SQS = SDKQueue{}

// SendMessage implements queue.SendAPI; an empty ID is left out.
func (q SDKQueue) SendMessage(ctx context.Context, in queue.SendRequest) error {
	req := &sqs.SendMessageInput{QueueUrl: aws.String(in.QueueURL), MessageBody: aws.String(in.Body)}
	if in.GroupID != "" {
		req.MessageGroupId = aws.String(in.GroupID)
	}
	if in.DedupeID != "" {
		req.MessageDeduplicationId = aws.String(in.DedupeID)
	}
	_, err := q.API.SendMessage(ctx, req)
	return err
}

// ChangeMessageVisibility implements queue.VisibilityAPI.
func (q SDKQueue) ChangeMessageVisibility(ctx context.Context, in queue.VisibilityRequest) error {
	_, err := q.API.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{
		QueueUrl: aws.String(in.QueueURL), ReceiptHandle: aws.String(in.ReceiptHandle), VisibilityTimeout: in.Seconds,
	})
	return err
}

// Queues are the URLs of one set of the bridge's queues.
type Queues struct {
	Inbound, Outbound               string
	InboundRedrive, OutboundRedrive string
}

// QueueAttributes are a main queue's attributes; visibility is 6 × the
// function timeout on AWS (template.yaml), shorter in tests that play a
// crashed consumer.
func QueueAttributes(visibility time.Duration, redriveARN string) map[string]string {
	redrive, _ := json.Marshal(map[string]any{"deadLetterTargetArn": redriveARN, "maxReceiveCount": QueueMaxReceiveCount})
	return map[string]string{
		"FifoQueue": "true", "ContentBasedDeduplication": "false", "SqsManagedSseEnabled": "true",
		"VisibilityTimeout":      strconv.Itoa(int(visibility / time.Second)),
		"MessageRetentionPeriod": strconv.Itoa(QueueRetentionSeconds),
		"RedrivePolicy":          string(redrive),
	}
}

// RedriveQueueAttributes are a redrive queue's attributes.
func RedriveQueueAttributes() map[string]string {
	return map[string]string{
		"FifoQueue": "true", "ContentBasedDeduplication": "false", "SqsManagedSseEnabled": "true",
		"MessageRetentionPeriod": strconv.Itoa(QueueRetentionSeconds),
	}
}

// CreateQueues creates the inbound and outbound queues and their redrive
// queues, named prefix-inbound.fifo and so on; existing ones are reused.
func CreateQueues(ctx context.Context, api QueueAPI, prefix string, visibility time.Duration) (Queues, error) {
	create := func(name string, attrs map[string]string) (url, arn string, err error) {
		out, err := api.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: attrs})
		if err != nil {
			return "", "", fmt.Errorf("create queue %s: %w", name, err)
		}
		a, err := api.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: out.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
		if err != nil {
			return "", "", fmt.Errorf("queue %s: %w", name, err)
		}
		return aws.ToString(out.QueueUrl), a.Attributes[string(sqstypes.QueueAttributeNameQueueArn)], nil
	}
	var q Queues
	for _, kind := range []struct {
		name        string
		main, drive *string
	}{{"inbound", &q.Inbound, &q.InboundRedrive}, {"outbound", &q.Outbound, &q.OutboundRedrive}} {
		url, arn, err := create(prefix+"-"+kind.name+"-redrive.fifo", RedriveQueueAttributes())
		if err != nil {
			return Queues{}, err
		}
		*kind.drive = url
		if *kind.main, _, err = create(prefix+"-"+kind.name+".fifo", QueueAttributes(visibility, arn)); err != nil {
			return Queues{}, err
		}
	}
	return q, nil
}

// activity wakes whoever waits for the queues to settle: every send and
// every settled batch is an event.
type activity struct {
	mu  sync.Mutex
	gen uint64
	ch  chan struct{}
}

func (a *activity) bump() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.gen++
	if a.ch != nil {
		close(a.ch)
		a.ch = nil
	}
}

// since returns the current generation and a channel closed at the next.
func (a *activity) since() (uint64, <-chan struct{}) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.ch == nil {
		a.ch = make(chan struct{})
	}
	return a.gen, a.ch
}

// notifying is the SQS client handlers get: its sends are events.
type notifying struct {
	app.SQS
	act *activity
}

func (n notifying) SendMessage(ctx context.Context, in queue.SendRequest) error {
	err := n.SQS.SendMessage(ctx, in)
	n.act.bump()
	return err
}

// QueueClient is the SQS client for handlers over this stack's emulator
// (its sends wake Drain).
func (st *Stack) QueueClient() app.SQS { return notifying{SQS: SDKQueue{API: st.SQS}, act: st.act} }

// NewQueues creates a set of queues for a second set of handlers (a test's
// with its own faults or clock) and includes them in Drain.
func (st *Stack) NewQueues(ctx context.Context, prefix string, visibility time.Duration) (Queues, error) {
	q, err := CreateQueues(ctx, st.SQS, prefix, visibility)
	if err != nil {
		return Queues{}, err
	}
	st.mu.Lock()
	st.queues = append(st.queues, q)
	st.mu.Unlock()
	return q, nil
}

// RunOptions adjust the pollers of Run.
type RunOptions struct {
	// SQS replaces the pollers' client (a test's that fails on demand to
	// play a consumer that died).
	SQS esm.SQS
	// Timeout is each invocation's deadline; default Options.FunctionTimeout.
	Timeout time.Duration
	// Concurrency is each mapping's MaximumConcurrency; default 4.
	Concurrency int
	// Wrap, when set, wraps each function's handler (tests).
	Wrap func(function string, h esm.Handler) esm.Handler
	// Settled sees every settled batch.
	Settled func(function string, b esm.Batch)
	// Functions limits the mappings to these functions' queues (default
	// both consumers).
	Functions []string
}

// Pipeline is the running pollers of one set of handlers.
type Pipeline struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once
}

// Stop ends the pollers (invocations in flight finish, as when a mapping
// is disabled).
func (p *Pipeline) Stop() {
	p.once.Do(func() {
		p.cancel()
		p.wg.Wait()
	})
}

// Run starts one Lambda-like event source mapping per queue of d (its
// Config's queue URLs) into d's functions, through the same entry point
// Lambda calls (app.Entries): the event as JSON, dispatched by its shape.
func (st *Stack) Run(d *app.Deps, o RunOptions) (*Pipeline, error) {
	api := o.SQS
	if api == nil {
		api = st.SQS
	}
	timeout := o.Timeout
	if timeout == 0 {
		timeout = st.Opts.FunctionTimeout
	}
	conc := o.Concurrency
	if conc == 0 {
		conc = 4
	}
	entries := d.Entries(nil)
	ctx, cancel := context.WithCancel(context.Background())
	p := &Pipeline{cancel: cancel}
	for fn, url := range map[string]string{route.SourceInbound: d.Config.InboundQueueURL, route.WebhookMessage: d.Config.OutboundQueueURL} {
		if url == "" || (len(o.Functions) > 0 && !slices.Contains(o.Functions, fn)) {
			continue
		}
		var h esm.Handler = lambdaHandler(entries[fn])
		if o.Wrap != nil {
			h = o.Wrap(fn, h)
		}
		m := &esm.Mapping{
			SQS: api, QueueURL: url, Handler: h, BatchSize: esm.DefaultBatchSize, Concurrency: conc,
			Timeout: timeout, WaitTime: esm.DefaultWaitTime, Function: "crmbridge-" + fn, Log: d.Log,
			Settled: func(b esm.Batch) {
				if o.Settled != nil {
					o.Settled(fn, b)
				}
				st.act.bump()
			},
		}
		// CreateEventSourceMapping's own check, made before any poller
		// runs so a bad setting is this call's error.
		if err := checkVisibility(ctx, api, url, timeout); err != nil {
			p.Stop()
			return nil, fmt.Errorf("%s poller: %w", fn, err)
		}
		p.wg.Go(func() {
			if err := m.Run(ctx); err != nil {
				d.Log.Error("poller stopped", "function", fn, "error", err.Error())
			}
		})
	}
	st.mu.Lock()
	st.pipelines = append(st.pipelines, p)
	st.mu.Unlock()
	return p, nil
}

func checkVisibility(ctx context.Context, api esm.SQS, url string, timeout time.Duration) error {
	out, err := api.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url), AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameVisibilityTimeout}})
	if err != nil {
		return fmt.Errorf("queue %s: %w", url, err)
	}
	vis, err := strconv.Atoi(out.Attributes[string(sqstypes.QueueAttributeNameVisibilityTimeout)])
	if err != nil || time.Duration(vis)*time.Second < timeout {
		return fmt.Errorf("queue %s: visibility timeout %q s is below the function timeout %s", url, out.Attributes["VisibilityTimeout"], timeout)
	}
	return nil
}

// lambdaHandler runs an SQS event through a function's Entry as Lambda
// does: the event and the answer as JSON.
func lambdaHandler(entry app.Entry) esm.Handler {
	return func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		raw, err := json.Marshal(ev)
		if err != nil {
			return events.SQSEventResponse{}, err
		}
		out, err := entry(ctx, raw)
		if err != nil {
			return events.SQSEventResponse{}, err
		}
		b, err := json.Marshal(out)
		if err != nil {
			return events.SQSEventResponse{}, err
		}
		var resp events.SQSEventResponse
		if err := json.Unmarshal(b, &resp); err != nil {
			return events.SQSEventResponse{}, fmt.Errorf("the function's answer is not an SQS event response: %w", err)
		}
		return resp, nil
	}
}

// Drain waits until everything accepted so far was delivered or kept as
// a dead letter: the fake AI agent idle (its webhooks answered) and every
// queue of the stack empty, twice with no event in between. It waits for
// events (sends, settled batches), never for a time.
func (st *Stack) Drain(ctx context.Context) error {
	for {
		gen, next := st.act.since()
		if st.Agent != nil {
			if err := st.Agent.WaitIdle(ctx); err != nil {
				return err
			}
		}
		busy, where, err := st.queued(ctx)
		if err != nil {
			return err
		}
		if again, _ := st.act.since(); busy == 0 && again == gen {
			return nil
		}
		if busy == 0 {
			continue // something happened meanwhile: look again
		}
		select {
		case <-next:
		case <-ctx.Done():
			return fmt.Errorf("queues not drained (%d messages: %s): %w", busy, strings.Join(where, ", "), ctx.Err())
		}
	}
}

// queued counts the messages waiting, in flight or delayed on the
// stack's queues (the redrive queues aside), and says where they are.
func (st *Stack) queued(ctx context.Context) (int, []string, error) {
	st.mu.Lock()
	sets := append([]Queues(nil), st.queues...)
	st.mu.Unlock()
	n := 0
	var where []string
	for _, q := range sets {
		for _, url := range []string{q.Inbound, q.Outbound} {
			out, err := st.SQS.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url), AttributeNames: []sqstypes.QueueAttributeName{
				sqstypes.QueueAttributeNameApproximateNumberOfMessages, sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible,
				sqstypes.QueueAttributeNameApproximateNumberOfMessagesDelayed,
			}})
			if err != nil {
				return 0, nil, fmt.Errorf("count the messages of %s: %w", url, err)
			}
			for name, v := range out.Attributes {
				if c, _ := strconv.Atoi(v); c > 0 {
					n += c
					where = append(where, fmt.Sprintf("%s %s %d", path.Base(url), name, c))
				}
			}
		}
	}
	sort.Strings(where)
	return n, where, nil
}
