// bench.js times the JS VADER port (the speed peer of gold.VADER) on the
// test sentences; compare with `go test -bench VADERVectors ./gold`.
//
//   cd study/gold/testdata/gen && npm install && node bench.js
'use strict';
const fs = require('fs');
const path = require('path');
const vader = require('vader-sentiment');

const lines = fs.readFileSync(path.join(__dirname, '..', 'vader_sentences.txt'), 'utf8').replace(/\n$/, '').split('\n');
const rounds = 200;
let sink = 0;
for (let r = 0; r < 20; r++) for (const s of lines) sink += vader.SentimentIntensityAnalyzer.polarity_scores(s).compound; // warm-up
const times = [];
for (let rep = 0; rep < 5; rep++) {
  const t0 = process.hrtime.bigint();
  for (let r = 0; r < rounds; r++) for (const s of lines) sink += vader.SentimentIntensityAnalyzer.polarity_scores(s).compound;
  times.push(Number(process.hrtime.bigint() - t0) / 1e3 / (rounds * lines.length));
}
times.sort((a, b) => a - b);
console.log('vader-sentiment (node ' + process.version + '): median ' + times[2].toFixed(2) + ' µs/sentence over ' + lines.length + ' sentences (' + (sink > 0 ? '' : ' ') + 'runs ' + times.map((t) => t.toFixed(2)).join(' ') + ')');
