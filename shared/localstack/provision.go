package localstack

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/crmbridge/crmbridge/shared/state"
	"github.com/crmbridge/crmbridge/shared/tenant"
)

// TablesAPI is what provisioning needs of DynamoDB.
type TablesAPI interface {
	CreateTable(ctx context.Context, in *dynamodb.CreateTableInput, opts ...func(*dynamodb.Options)) (*dynamodb.CreateTableOutput, error)
	UpdateTimeToLive(ctx context.Context, in *dynamodb.UpdateTimeToLiveInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateTimeToLiveOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
}

// SecretsAPI is what seeding needs of Secrets Manager.
type SecretsAPI interface {
	CreateSecret(ctx context.Context, in *secretsmanager.CreateSecretInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.CreateSecretOutput, error)
	PutSecretValue(ctx context.Context, in *secretsmanager.PutSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.PutSecretValueOutput, error)
}

// TenantsTableInput and StateTableInput mirror template.yaml (a test keeps
// them equal).
func TenantsTableInput(name string) *dynamodb.CreateTableInput {
	return &dynamodb.CreateTableInput{
		TableName:   aws.String(name),
		BillingMode: ddbtypes.BillingModePayPerRequest,
		AttributeDefinitions: []ddbtypes.AttributeDefinition{
			{AttributeName: aws.String("pk"), AttributeType: ddbtypes.ScalarAttributeTypeS},
			{AttributeName: aws.String("sk"), AttributeType: ddbtypes.ScalarAttributeTypeS},
		},
		KeySchema: []ddbtypes.KeySchemaElement{
			{AttributeName: aws.String("pk"), KeyType: ddbtypes.KeyTypeHash},
			{AttributeName: aws.String("sk"), KeyType: ddbtypes.KeyTypeRange},
		},
	}
}

// StateTableInput is the State table with its sparse dead-letter index.
func StateTableInput(name string) *dynamodb.CreateTableInput {
	return &dynamodb.CreateTableInput{
		TableName:   aws.String(name),
		BillingMode: ddbtypes.BillingModePayPerRequest,
		AttributeDefinitions: []ddbtypes.AttributeDefinition{
			{AttributeName: aws.String("pk"), AttributeType: ddbtypes.ScalarAttributeTypeS},
			{AttributeName: aws.String("dlq"), AttributeType: ddbtypes.ScalarAttributeTypeS},
			{AttributeName: aws.String("deadAt"), AttributeType: ddbtypes.ScalarAttributeTypeN},
		},
		KeySchema: []ddbtypes.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: ddbtypes.KeyTypeHash}},
		GlobalSecondaryIndexes: []ddbtypes.GlobalSecondaryIndex{{
			IndexName: aws.String(state.DeadLetterIndex),
			KeySchema: []ddbtypes.KeySchemaElement{
				{AttributeName: aws.String("dlq"), KeyType: ddbtypes.KeyTypeHash},
				{AttributeName: aws.String("deadAt"), KeyType: ddbtypes.KeyTypeRange},
			},
			Projection: &ddbtypes.Projection{ProjectionType: ddbtypes.ProjectionTypeAll},
		}},
	}
}

// TTLAttribute is the State table's expiry attribute.
const TTLAttribute = state.ExpiryAttribute

// CreateTables creates both tables; existing tables are left alone.
func CreateTables(ctx context.Context, db TablesAPI, tenantsTable, stateTable string) error {
	for _, in := range []*dynamodb.CreateTableInput{TenantsTableInput(tenantsTable), StateTableInput(stateTable)} {
		if _, err := db.CreateTable(ctx, in); err != nil {
			var inUse *ddbtypes.ResourceInUseException
			if !errors.As(err, &inUse) {
				return fmt.Errorf("create table %s: %w", aws.ToString(in.TableName), err)
			}
		}
	}
	_, err := db.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
		TableName:               aws.String(stateTable),
		TimeToLiveSpecification: &ddbtypes.TimeToLiveSpecification{AttributeName: aws.String(TTLAttribute), Enabled: aws.Bool(true)},
	})
	if err != nil && !strings.Contains(err.Error(), "already enabled") {
		return fmt.Errorf("enable TTL on %s: %w", stateTable, err)
	}
	return nil
}

// Seed loads every *.json file of dir: DynamoDB JSON items (they have a pk)
// go to the Tenants table, secret files (they have a Name) to Secrets
// Manager. patch, if set, may change an item before it is written.
func Seed(ctx context.Context, db TablesAPI, sm SecretsAPI, dir, tenantsTable string, patch func(tenant.Item)) error {
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return err
	}
	sort.Strings(files)
	if len(files) == 0 {
		return fmt.Errorf("no tenant files in %s", dir)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		if tenant.IsSecretFile(b) {
			s, _, err := tenant.DecodeSecretFile(b)
			if err != nil {
				return fmt.Errorf("%s: %w", f, err)
			}
			if err := putSecret(ctx, sm, s); err != nil {
				return fmt.Errorf("%s: %w", f, err)
			}
			continue
		}
		it, err := tenant.DecodeItemJSON(b)
		if err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		if patch != nil {
			patch(it)
		}
		if _, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(tenantsTable), Item: it}); err != nil {
			return fmt.Errorf("%s: put item: %w", f, err)
		}
	}
	return nil
}

func putSecret(ctx context.Context, sm SecretsAPI, s tenant.SecretFile) error {
	_, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(s.Name), SecretString: aws.String(s.SecretString), Description: aws.String(s.Description)})
	var exists *smtypes.ResourceExistsException
	if errors.As(err, &exists) {
		_, err = sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(s.Name), SecretString: aws.String(s.SecretString)})
	}
	if err != nil {
		return fmt.Errorf("secret %s: %w", s.Name, err)
	}
	return nil
}
