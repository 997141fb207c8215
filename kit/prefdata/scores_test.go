package prefdata

import (
	"bytes"
	"math"
	"testing"
)

func TestWriteScores(t *testing.T) {
	texts := &Data{Kind: Texts, Texts: []ScoreRow{
		{ID: "a", Prompt: "Hi", Response: " there & <you>"},
		{Prompt: "", Response: "x,\"y\"\nz"},
	}}
	chatTexts := &Data{Kind: Texts, Texts: []ScoreRow{
		{Prompt: "\n\nUser: Hi", Response: "\n\nAssistant: Yo", PromptMessages: []Message{user("Hi")}, ResponseMessages: []Message{assistant("Yo")}},
	}}
	pairs := &Data{Kind: Pairs, Pairs: []Row{
		{Prompt: "The sky is", Chosen: " blue.", Rejected: " green.", Margin: Float(3)},
		{ID: "p1", Prompt: "", Chosen: "a", Rejected: "b"},
	}}
	chatPairs := &Data{Kind: Pairs, Pairs: []Row{chatRow([]Message{user("Sky?")}, []Message{assistant("Blue.")}, []Message{assistant("Green.")})}}
	textScores := Scores{Rewards: []float32{0.1, -1.25}}
	pairScores := Scores{Chosen: []float32{0.5, 2}, Rejected: []float32{-1.25, 2.5}}
	for _, c := range []struct {
		name string
		d    *Data
		s    Scores
		o    ScoreOptions
		want string
	}{
		{"texts jsonl", texts, textScores, ScoreOptions{}, `{"id":"a","reward":0.1}
{"id":1,"reward":-1.25}
`},
		{"texts jsonl with input", texts, textScores, ScoreOptions{Format: ScoreJSONL, WithInput: true}, `{"id":"a","reward":0.1,"prompt":"Hi","response":" there & <you>"}
{"id":1,"reward":-1.25,"prompt":"","response":"x,\"y\"\nz"}
`},
		{"texts csv with input", texts, textScores, ScoreOptions{Format: ScoreCSV, WithInput: true}, `id,reward,prompt,response
a,0.1,Hi," there & <you>"
1,-1.25,,"x,""y""
z"
`},
		{"pairs jsonl", pairs, pairScores, ScoreOptions{}, `{"id":0,"reward_chosen":0.5,"reward_rejected":-1.25,"margin":1.75}
{"id":"p1","reward_chosen":2,"reward_rejected":2.5,"margin":-0.5}
`},
		{"pairs csv", pairs, pairScores, ScoreOptions{Format: ScoreCSV}, `id,reward_chosen,reward_rejected,margin
0,0.5,-1.25,1.75
p1,2,2.5,-0.5
`},
		{"pairs jsonl with input", pairs, pairScores, ScoreOptions{WithInput: true}, `{"id":0,"reward_chosen":0.5,"reward_rejected":-1.25,"margin":1.75,"prompt":"The sky is","chosen":" blue.","rejected":" green."}
{"id":"p1","reward_chosen":2,"reward_rejected":2.5,"margin":-0.5,"prompt":"","chosen":"a","rejected":"b"}
`},
		{"conversational texts jsonl with input", chatTexts, Scores{Rewards: []float32{1}}, ScoreOptions{WithInput: true},
			`{"id":0,"reward":1,"prompt":[{"role":"user","content":"Hi"}],"response":[{"role":"assistant","content":"Yo"}]}
`},
		{"conversational pairs csv with input", chatPairs, Scores{Chosen: []float32{1}, Rejected: []float32{0}}, ScoreOptions{Format: ScoreCSV, WithInput: true},
			`id,reward_chosen,reward_rejected,margin,prompt,chosen,rejected
0,1,0,1,"[{""role"":""user"",""content"":""Sky?""}]","[{""role"":""assistant"",""content"":""Blue.""}]","[{""role"":""assistant"",""content"":""Green.""}]"
`},
		{"no rows, csv: the header", &Data{Kind: Texts}, Scores{}, ScoreOptions{Format: ScoreCSV}, "id,reward\n"},
		{"no rows, jsonl: nothing", &Data{Kind: Pairs}, Scores{}, ScoreOptions{}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := WriteScores(&b, c.d, c.s, c.o); err != nil {
				t.Fatal(err)
			}
			if b.String() != c.want {
				t.Errorf("got\n%s\nwant\n%s", b.String(), c.want)
			}
		})
	}
	for _, c := range []struct {
		name string
		d    *Data
		s    Scores
		o    ScoreOptions
		want string
	}{
		{"NaN reward", texts, Scores{Rewards: []float32{0, float32(math.NaN())}}, ScoreOptions{}, "row 2: reward is NaN (a broken model?)"},
		{"infinite reward in a pair", pairs, Scores{Chosen: []float32{float32(math.Inf(1)), 0}, Rejected: []float32{0, 0}}, ScoreOptions{Format: ScoreCSV}, "row 1: reward is +Inf (a broken model?)"},
		{"too few rewards", texts, Scores{Rewards: []float32{1}}, ScoreOptions{}, "prefdata: WriteScores: 1 rewards for 2 rows"},
		{"bad format", texts, textScores, ScoreOptions{Format: "tsv"}, `format "tsv": want jsonl or csv`},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := WriteScores(&bytes.Buffer{}, c.d, c.s, c.o)
			if err == nil || err.Error() != c.want {
				t.Errorf("error %v, want %s", err, c.want)
			}
		})
	}
}
