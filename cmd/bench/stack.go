package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/crmbridge/crmbridge/shared/awscount"
	"github.com/crmbridge/crmbridge/shared/localstack"
	"github.com/crmbridge/crmbridge/shared/source/generic"
	"github.com/crmbridge/crmbridge/shared/stdwebhook"
	"github.com/crmbridge/crmbridge/shared/tenant"
)

// bench is a local stack with its AWS calls counted by what made them
// (attrib.go), the HTTP API it is sent to, and a signer of the demo
// generic account's visitor events.
type bench struct {
	st     *localstack.Stack
	attr   *attribution
	count  *awscount.Counter
	clock  *batchClock
	front  *front
	secret stdwebhook.Secret // the demo generic account's inbound secret
	hook   string            // the demo agent's webhook secret
	hc     *http.Client
}

// startStack runs the local stack (the demo tenant, the fake AI agent, the
// demo desk) on free ports, its DynamoDB on the given emulator.
func startStack(ctx context.Context, dynamo string) (*bench, error) {
	b := &bench{attr: &attribution{}, hc: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}}
	b.count, b.clock = awscount.NewScoped(b.attr.scope), newBatchClock(b.attr.scope)
	raw, err := tenant.ReadSecretFile(filepath.Join("events", "tenant", "secret-source-generic-demo.json"))
	if err != nil {
		return nil, err
	}
	var creds generic.Credentials
	if err := json.Unmarshal([]byte(raw.SecretString), &creds); err != nil {
		return nil, err
	}
	if b.secret, err = stdwebhook.ParseSecret(creds.InboundSecret); err != nil {
		return nil, err
	}
	if raw, err = tenant.ReadSecretFile(filepath.Join("events", "tenant", "secret-agent-demo.json")); err != nil {
		return nil, err
	}
	var agent tenant.AgentSecret
	if err := json.Unmarshal([]byte(raw.SecretString), &agent); err != nil {
		return nil, err
	}
	b.hook = agent.WebhookSecret
	if dynamo == "moto" {
		dynamo = ""
	}
	b.st, err = localstack.Start(ctx, localstack.Options{
		Addr: "127.0.0.1:0", AgentAddr: "127.0.0.1:0", SunshineAddr: "127.0.0.1:0", LivePersonAddr: "127.0.0.1:0",
		LogLevel: "WARN", DynamoDB: dynamo,
		AWSConfig: func(cfg *aws.Config) {
			b.count.Instrument(cfg)
			b.clock.instrument(cfg)
		},
	})
	if err != nil {
		return nil, err
	}
	b.attr.setQueues(b.st.Queues)
	if b.front, err = startFront(b.st); err != nil {
		b.st.Close()
		return nil, err
	}
	return b, nil
}

func (b *bench) close() {
	b.front.close()
	b.st.Close()
}

// visitor sends a signed visitor event of the demo generic account through
// the local HTTP API and returns the answer's status.
func (b *bench) visitor(ctx context.Context, typ, id, conv, text string) (int, error) {
	now := time.Now()
	body, err := generic.NewEvent(typ, generic.InboundData{ConversationID: conv, Text: text}, now)
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, b.front.url+"/sources/generic/"+localstack.DemoAccount, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range stdwebhook.Headers(b.secret, id, now, body) {
		req.Header.Set(k, v)
	}
	return b.do(req)
}

// botMessage sends the AI agent's sendMessage webhook for a generic
// conversation, authenticated as the demo agent's events/ samples are.
func (b *bench) botMessage(ctx context.Context, conv, messageID, text string) (int, error) {
	body, _ := json.Marshal(map[string]any{
		"botId": localstack.DemoAgentID, "channel": "chat",
		"data": map[string]any{
			"platformConversationId": "generic:" + localstack.DemoAccount + ":" + conv, "eventType": "sendMessage",
			"type": "text", "text": text, "buttons": []any{}, "carouselCards": []any{}, "messageId": messageID,
		},
	})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, b.front.url+"/webhooks/message", bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+b.hook)
	return b.do(req)
}

func (b *bench) do(req *http.Request) (int, error) {
	resp, err := b.hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	if resp.StatusCode != 200 {
		return resp.StatusCode, fmt.Errorf("%s %s: %d %s", req.Method, req.URL.Path, resp.StatusCode, body)
	}
	return resp.StatusCode, nil
}

// idle waits until everything accepted so far was delivered: the fake AI
// agent has sent every webhook and both queues are empty (the agent's
// answers are themselves queued on the way to the desk, so an idle agent
// alone is not the end).
func (b *bench) idle(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	return b.st.Drain(ctx)
}
