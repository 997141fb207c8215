// gen.js computes VADER reference scores with the independent JavaScript
// port (npm vader-sentiment 1.1.3) for package gold's tests.
//
//   cd study/gold/testdata/gen && npm install && node gen.js
//
// reads ../vader_sentences.txt (one sentence a line, kept exactly, blank
// lines included) and writes ../vader_vectors.json.
'use strict';
const fs = require('fs');
const path = require('path');
const vader = require('vader-sentiment');

const version = require('vader-sentiment/package.json').version;
const src = path.join(__dirname, '..', 'vader_sentences.txt');
const lines = fs.readFileSync(src, 'utf8').replace(/\n$/, '').split('\n');
const vectors = lines.map((text) => {
  const s = vader.SentimentIntensityAnalyzer.polarity_scores(text);
  return {text: text, compound: s.compound, neg: s.neg, neu: s.neu, pos: s.pos};
});
const out = {
  generator: 'vader-sentiment ' + version + ' (npm), node ' + process.version,
  note: 'compound rounded to 4 decimals, neg/neu/pos to 3, by the JS port itself',
  vectors: vectors,
};
fs.writeFileSync(path.join(__dirname, '..', 'vader_vectors.json'), JSON.stringify(out, null, 1) + '\n');
console.error('wrote ' + vectors.length + ' vectors');
