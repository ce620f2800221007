package doctor

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// tables is a Tables fake: what DescribeTable and DescribeTimeToLive find.
type tables struct {
	desc map[string]*ddbtypes.TableDescription
	ttl  *ddbtypes.TimeToLiveDescription
}

func (f *tables) DescribeTable(_ context.Context, in *dynamodb.DescribeTableInput, _ ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error) {
	d, ok := f.desc[aws.ToString(in.TableName)]
	if !ok {
		return nil, &ddbtypes.ResourceNotFoundException{Message: aws.String("no table")}
	}
	return &dynamodb.DescribeTableOutput{Table: d}, nil
}

func (f *tables) DescribeTimeToLive(context.Context, *dynamodb.DescribeTimeToLiveInput, ...func(*dynamodb.Options)) (*dynamodb.DescribeTimeToLiveOutput, error) {
	return &dynamodb.DescribeTimeToLiveOutput{TimeToLiveDescription: f.ttl}, nil
}

func keys(ks ...string) []ddbtypes.KeySchemaElement {
	var out []ddbtypes.KeySchemaElement
	for i, k := range ks {
		t := ddbtypes.KeyTypeHash
		if i == 1 {
			t = ddbtypes.KeyTypeRange
		}
		out = append(out, ddbtypes.KeySchemaElement{AttributeName: aws.String(k), KeyType: t})
	}
	return out
}

// The table checks find each way a table can differ from the template's;
// a table that is missing or not crmbridge's stops the checks that read
// the tables, a missing index or TTL does not.
func TestTables(t *testing.T) {
	tenants := &ddbtypes.TableDescription{KeySchema: keys("pk", "sk"), TableStatus: ddbtypes.TableStatusActive}
	state := func(index string) *ddbtypes.TableDescription {
		return &ddbtypes.TableDescription{KeySchema: keys("pk"), TableStatus: ddbtypes.TableStatusActive,
			GlobalSecondaryIndexes: []ddbtypes.GlobalSecondaryIndexDescription{{IndexName: aws.String(index)}}}
	}
	ttlOn := &ddbtypes.TimeToLiveDescription{TimeToLiveStatus: ddbtypes.TimeToLiveStatusEnabled, AttributeName: aws.String("exp")}
	tests := []struct {
		name string
		f    *tables
		want []string // the failures' texts, in order
		stop bool     // the later checks cannot run
	}{
		{"as the template", &tables{desc: map[string]*ddbtypes.TableDescription{"t": tenants, "s": state("dead-letters")}, ttl: ttlOn}, nil, false},
		{"missing", &tables{desc: map[string]*ddbtypes.TableDescription{"s": state("dead-letters")}, ttl: ttlOn},
			[]string{"table t (tenants): does not exist; fix: set TENANTS_TABLE to the stack's TenantsTableName output"}, true},
		{"swapped", &tables{desc: map[string]*ddbtypes.TableDescription{"t": state("dead-letters"), "s": tenants}, ttl: ttlOn},
			[]string{"table t (tenants): key schema [pk HASH], want [pk HASH sk RANGE]", "table s (state): key schema [pk HASH sk RANGE]"}, true},
		{"no index, no TTL", &tables{desc: map[string]*ddbtypes.TableDescription{"t": tenants, "s": state("other")}, ttl: &ddbtypes.TimeToLiveDescription{TimeToLiveStatus: ddbtypes.TimeToLiveStatusDisabled}},
			[]string{"table s (state): no index dead-letters; TTL on exp is not enabled; fix: deploy the stack's template"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &Checker{Tables: tt.f, TenantsTable: "t", StateTable: "s"}
			r := &run{c: c}
			ok := r.tables(context.Background())
			var got []string
			for _, f := range r.out {
				if !f.OK {
					got = append(got, f.Check+": "+f.Detail+"; fix: "+f.Fix)
				}
			}
			if ok == tt.stop || len(got) != len(tt.want) {
				t.Fatalf("ok %v, failures %q, want %q", ok, got, tt.want)
			}
			for i := range got {
				if !strings.HasPrefix(got[i], tt.want[i]) {
					t.Errorf("failure %q, want it to start %q", got[i], tt.want[i])
				}
			}
			if Findings(r.out).Failed() != len(tt.want) {
				t.Errorf("Failed() = %d", Findings(r.out).Failed())
			}
		})
	}
}

func TestPutHint(t *testing.T) {
	const id = "64f1c0ffee0ddba11ad0be57"
	for name, want := range map[string]string{
		"crmbridge/agents/" + id:            "crmbridge secrets put agent " + id,
		"crmbridge/sources/generic/acme":    "crmbridge secrets put source generic acme",
		"crmbridge/actions/" + id + "/shop": "crmbridge secrets put action " + id + " shop",
		"prod/other":                        "rename it",
	} {
		if got := putHint(name); !strings.HasPrefix(got, want) {
			t.Errorf("putHint(%s) = %q, want %q…", name, got, want)
		}
	}
}
