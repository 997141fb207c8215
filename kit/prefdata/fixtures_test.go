package prefdata

import (
	"path/filepath"
	"reflect"
	"testing"
)

// The fixtures in testdata/ were written by Apache Arrow JS and arrow-rs
// (testdata/arrow/fixtures.mjs), not by parquet-go: TRL standard rows,
// implicit-prompt rows and conversational list<struct<role, content>>
// columns, each with a JSONL twin. Both must read as the rows below.
func TestArrowFixtures(t *testing.T) {
	sys, sky := Message{"system", "Answer briefly."}, user("What color is the sky?")
	conv0 := chatRow([]Message{sys, sky}, []Message{assistant("Blue.")}, []Message{assistant("It is green & <b>bold</b>.")})
	conv0.Margin = Float(2)
	for _, c := range []struct {
		name string
		want []Row
	}{
		{"trl_standard", []Row{
			{ID: "0", Prompt: "The sky is", Chosen: " blue.", Rejected: " green.", Margin: Float(1.5), Subset: "colors"},
			{ID: "1", Prompt: "", Chosen: "Ship it: the tests pass.", Rejected: "Looks fine.", Subset: "review"},
			{ID: "2", Prompt: "Café", Chosen: " au lait, s'il vous plaît.", Rejected: " noir, s'il vous plaît.", Margin: Float(0.25)},
		}},
		{"trl_implicit", []Row{
			{Prompt: "Q: 2+2? A:", Chosen: " 4", Rejected: " 5"},
			{Prompt: "Human: hi\n\nAssistant:", Chosen: " Hello! 👋", Rejected: " Go away."},
		}},
		{"trl_conversational", []Row{
			conv0,
			chatRow([]Message{user("Hi")}, []Message{assistant("Hello!")}, []Message{assistant("Go away.")}),
		}},
	} {
		for _, ext := range []string{"parquet", "jsonl"} {
			t.Run(c.name+"."+ext, func(t *testing.T) {
				got, err := ReadPairs(filepath.Join("testdata", c.name+"."+ext))
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got, c.want) {
					t.Fatalf("got  %+v\nwant %+v", got, c.want)
				}
			})
		}
	}
}
