// Unit tests of the timeline's data functions (node --test, run by Maven in the test phase).
// The codes table is built from the project's value set files, as /timeline/codes.json is.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const TimelineData = require('../../main/resources/static/timeline/timeline-data.js');

const VALUE_SETS = path.join(__dirname, '../../../../cql/src/main/resources/valuesets');
// kind -> value set file, as TimelineCodesController maps them
const KINDS = {
  marrowBlasts: 'marrow-blasts', anc: 'anc', platelets: 'platelets', hemoglobin: 'hemoglobin', mrd: 'mrd',
  csfWbc: 'csf-wbc', csfBlasts: 'csf-blasts', csfCytology: 'csf-cytology', chemotherapy: 'chemotherapy',
  transplant: 'hsct', allCondition: 'all-conditions', positiveResult: 'positive-result',
  negativeResult: 'negative-result'
};
const CODES = Object.fromEntries(Object.entries(KINDS).map(([kind, file]) => {
  const vs = JSON.parse(fs.readFileSync(path.join(VALUE_SETS, file + '.json'), 'utf8'));
  return [kind, vs.compose.include.flatMap(inc => inc.concept.map(c => inc.system + '|' + c.code))];
}));
const LOINC = 'http://loinc.org';
const SNOMED = 'http://snomed.info/sct';

function obs(id, code, date, valueQuantity, extra) {
  return Object.assign({
    resourceType: 'Observation', id, status: 'final',
    code: { coding: [{ system: code.includes('|') ? code.split('|')[0] : LOINC, code: code.split('|').pop() }] },
    effectiveDateTime: date
  }, valueQuantity ? { valueQuantity } : {}, extra || {});
}
const q = (value, code) => ({ value, unit: code, system: 'http://unitsofmeasure.org', code });

test('counts and hemoglobin are converted to x10^9/L and g/dL; an unknown unit is listed, not plotted', () => {
  const t = TimelineData.build({
    observations: [
      obs('a1', '751-8', '2024-01-02', q(0.6, '10*3/uL')),
      obs('a2', '751-8', '2024-01-03', q(1500, '/uL')),
      obs('p1', '777-3', '2024-01-02', q(41, '10*9/L')),
      obs('p2', '26515-7', '2024-01-04', { value: 150, unit: 'thou/cmm' }),
      obs('h1', '718-7', '2024-01-02', q(81, 'g/L')),
      obs('x1', '2160-0', '2024-01-02', q(1.1, 'mg/dL'))
    ]
  }, CODES, {}, '2024-02-01');
  assert.deepEqual(t.series.anc.map(p => [p.date, p.value, p.unit]), [['2024-01-02', 0.6, '10^9/L'], ['2024-01-03', 1.5, '10^9/L']]);
  assert.equal(t.series.anc[1].reported, '1500 /uL');
  assert.deepEqual(t.series.platelets.map(p => p.value), [41]);
  assert.deepEqual(t.series.hemoglobin.map(p => [p.value, p.unit]), [[8.1, 'g/dL']]);
  assert.deepEqual(t.notPlotted, [{ id: 'Observation/p2', kind: 'platelets', reason: 'unit "thou/cmm" not recognized' }]);
  assert.equal(t.status, 'ready');
});

test('marrow blasts are sorted by date; an entered-in-error result is left out', () => {
  const t = TimelineData.build({
    observations: [
      obs('b2', '11150-0', '2024-03-01', q(68, '%')),
      obs('b1', '11150-0', '2023-01-01T12:00:00Z', q(89, '%')),
      obs('b3', '11150-0', '2024-03-02', q(70, '%'), { status: 'entered-in-error' })
    ]
  }, CODES, {}, '2024-04-01');
  assert.deepEqual(t.series.marrowBlasts.map(p => [p.date, p.value]), [['2023-01-01', 89], ['2024-03-01', 68]]);
});

test('MRD: a percentage, a fraction and a coded negative; CSF cytology positive', () => {
  const t = TimelineData.build({
    observations: [
      obs('m1', 'urn:all-cds:lab|mrd', '2024-01-01', null,
        { valueCodeableConcept: { coding: [{ system: SNOMED, code: '260385009' }] } }),
      obs('m2', 'urn:all-cds:lab|mrd', '2024-02-01', q(0.05, '%')),
      obs('m3', 'urn:all-cds:lab|mrd', '2024-03-01', q(0.0004, '1')),
      obs('c1', 'urn:all-cds:lab|csf-cytology', '2024-03-05', null,
        { valueCodeableConcept: { coding: [{ system: SNOMED, code: '10828004' }] } }),
      obs('c2', '26465-5', '2024-03-05', q(22, '/uL'))
    ]
  }, CODES, {}, '2024-04-01');
  assert.deepEqual(t.series.mrd.map(p => [p.value, p.result]), [[null, 'negative'], [0.05, undefined], [0.04, undefined]]);
  assert.deepEqual(t.series.csfCytology.map(p => p.result), ['positive']);
  assert.deepEqual(t.series.csfWbc.map(p => [p.value, p.unit]), [[22, '/uL']]);
});

test('chemotherapy courses and a transplant become bands; a course with no end is ongoing until today', () => {
  const chemo = (id, period) => ({ resourceType: 'Procedure', id, status: 'completed',
    code: { coding: [{ system: SNOMED, code: '367336001', display: 'Chemotherapy (procedure)' }] }, performedPeriod: period });
  const t = TimelineData.build({
    procedures: [
      chemo('c2', { start: '2024-01-01' }),
      chemo('c1', { start: '2023-01-01', end: '2023-06-30' }),
      { resourceType: 'Procedure', id: 't1', status: 'completed',
        code: { coding: [{ system: SNOMED, code: '234336002' }] }, performedDateTime: '2023-09-01' },
      { resourceType: 'Procedure', id: 'lp', status: 'completed',
        code: { coding: [{ system: SNOMED, code: '277762005' }] }, performedDateTime: '2023-09-01' }
    ]
  }, CODES, {}, '2024-04-01');
  assert.deepEqual(t.bands.chemotherapy.map(b => [b.start, b.end, b.ongoing]),
    [['2023-01-01', '2023-06-30', false], ['2024-01-01', '2024-04-01', true]]);
  assert.deepEqual(t.bands.transplant.map(b => [b.start, b.end]), [['2023-09-01', '2023-09-01']]);
});

test('markers: the diagnosis from the earliest ALL onset, remission from an abatement, dates passed by the card', () => {
  const all = (id, code, status, extra) => Object.assign({ resourceType: 'Condition', id,
    clinicalStatus: { coding: [{ code: status }] },
    code: { coding: [{ system: 'http://hl7.org/fhir/sid/icd-10-cm', code }] } }, extra);
  const t = TimelineData.build({
    conditions: [
      all('c1', 'C91.02', 'relapse', { onsetDateTime: '2020-05-01', recordedDate: '2020-05-02' }),
      all('c0', 'C91.01', 'remission', { recordedDate: '2019-12-01', abatementDateTime: '2020-09-01' }),
      all('anemia', 'D50.9', 'active', { onsetDateTime: '2018-01-01' })
    ]
  }, CODES, { remission: ['2020-07-01'], relapse: ['2024-03-01,not-a-date'] }, '2024-04-01');
  assert.deepEqual(t.markers.map(m => [m.kind, m.date, m.source]), [
    ['diagnosis', '2019-12-01', 'Condition/c0'],
    ['remission', '2020-07-01', 'card'],
    ['remission', '2020-09-01', 'Condition/c0'],
    ['relapse', '2024-03-01', 'card']]);
  assert.deepEqual(t.rejectedParameters, ['relapse=not-a-date']);
  // the relapse status has no date of its own: listed, not placed
  assert.deepEqual(t.recordedStatus.map(s => [s.id, s.statusKind]), [['Condition/c1', 'relapse'], ['Condition/c0', 'remission']]);
});

test('a patient with no leukemia data is empty, whatever the card passed', () => {
  assert.equal(TimelineData.build({}, CODES, { relapse: ['2024-03-01'] }, '2024-04-01').status, 'empty');
  const unrelated = TimelineData.build({ observations: [obs('g', '2345-7', '2024-01-01', q(5.5, 'mmol/L'))] },
    CODES, {}, '2024-04-01');
  assert.equal(unrelated.status, 'empty');
  assert.equal(unrelated.counts.observations, 1);
});

test("the card's dates from a link's appContext, as JSON or as a query string", () => {
  assert.deepEqual(TimelineData.parametersFromAppContext('{"remission":"2024-11-04","relapse":["2026-11-16"]}'),
    { remission: ['2024-11-04'], relapse: ['2026-11-16'] });
  assert.deepEqual(TimelineData.parametersFromAppContext('relapse=2026-11-16'), { remission: [], relapse: ['2026-11-16'] });
  assert.deepEqual(TimelineData.parametersFromAppContext(undefined), { remission: [], relapse: [] });
});
