// Package tenanttest writes configuration items for tests the way an
// operator does: plain maps marshalled into a Tenants table (the in-memory
// one of dynamotest, or moto_server's), which the functions' real
// tenant.Loader then reads, validates and caches. Faking the table rather
// than the loader keeps every test on the production parsing and caching.
package tenanttest

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/crmbridge/crmbridge/shared/tenant"
)

// Writer is the one call Put makes.
type Writer interface {
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
}

// Fields are an item's attributes as plain values (strings, numbers,
// booleans, lists and maps of them).
type Fields = map[string]any

// Put writes items into table.
func Put(ctx context.Context, db Writer, table string, items ...Fields) error {
	for _, f := range items {
		it, err := attributevalue.MarshalMap(f)
		if err != nil {
			return fmt.Errorf("tenanttest: marshal %v: %w", f["pk"], err)
		}
		if _, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: it}); err != nil {
			return fmt.Errorf("tenanttest: put %v: %w", f["pk"], err)
		}
	}
	return nil
}

// Source is an enabled source account served by agentID, with extra
// attributes (credentialsSecret, settings, metadata, enabled...).
func Source(source, account, agentID string, extra Fields) Fields {
	return with(Fields{"pk": tenant.SourceKey(source, account), "sk": tenant.ConfigSK, "agentId": agentID, "enabled": true}, extra)
}

// Agent is an AI agent whose secret is crmbridge/agents/{agentID} and whose
// webhooks authenticate with webhookAuth, with extra attributes (teams,
// baseUrl...).
func Agent(agentID string, webhookAuth Fields, extra Fields) Fields {
	return with(Fields{"pk": tenant.AgentKey(agentID), "sk": tenant.ConfigSK, "secret": AgentSecretName(agentID), "webhookAuth": webhookAuth}, extra)
}

// Action is an agent's action item with its fields (kind, builtin, http).
func Action(agentID, name string, fields Fields) Fields {
	return with(Fields{"pk": tenant.AgentKey(agentID), "sk": tenant.ActionSK(name)}, fields)
}

// AgentSecretName is where an agent's secret lives.
func AgentSecretName(agentID string) string { return "crmbridge/agents/" + agentID }

// SourceSecretName is where an account's platform credentials live.
func SourceSecretName(source, account string) string {
	return "crmbridge/sources/" + source + "/" + account
}

func with(base, extra Fields) Fields {
	for k, v := range extra {
		base[k] = v
	}
	return base
}
