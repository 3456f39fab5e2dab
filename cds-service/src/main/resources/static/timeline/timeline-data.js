/*
 * Disease-course timeline: from a patient's FHIR resources to the series, bands and markers the chart draws.
 * Pure functions (no DOM, no network), so node's test runner checks them (cds-service/src/test/js) and the page
 * exposes their result as window.timelineData for the browser test.
 *
 * Codes come from /timeline/codes.json (the service's own value sets): {kind: ["system|code", ...]}.
 */
(function (root, factory) {
  if (typeof module === 'object' && module.exports) {
    module.exports = factory();
  } else {
    root.TimelineData = factory();
  }
})(typeof self !== 'undefined' ? self : this, function () {
  'use strict';

  /** Plotted observation series: kind -> canonical unit and how reported units convert to it (UCUM codes). */
  var SERIES = {
    marrowBlasts: { label: 'Marrow blasts', unit: '%', factors: { '%': 1, '1': 100 } },
    anc: { label: 'ANC', unit: '10^9/L', factors: countFactors() },
    platelets: { label: 'Platelets', unit: '10^9/L', factors: countFactors() },
    hemoglobin: { label: 'Hemoglobin', unit: 'g/dL', factors: { 'g/dL': 1, 'g/L': 0.1, 'g/100mL': 1 } },
    mrd: { label: 'MRD', unit: '%', factors: { '%': 1, '1': 100 } },
    csfWbc: { label: 'CSF WBC', unit: '/uL', factors: { '/uL': 1, '/mm3': 1, '10*6/L': 1, '10^6/L': 1, '/L': 1e-6 } },
    csfBlasts: { label: 'CSF blasts', unit: '%', factors: { '%': 1, '1': 100 } },
    csfCytology: { label: 'CSF cytology', unit: null, factors: {} }
  };

  /** The thresholds drawn as lines (clinical-rules.md defaults). */
  var THRESHOLDS = {
    marrowBlasts: { value: 5, label: '5 % (remission < 5 %)' },
    anc: { value: 1.0, label: '1.0 x10^9/L' },
    platelets: { value: 100, label: '100 x10^9/L' },
    hemoglobin: { value: 10, label: '10 g/dL' },
    mrd: { value: 0.01, label: '0.01 %' }
  };

  /** Cell counts in x10^9/L (= 10*3/uL = /nL). */
  function countFactors() {
    return {
      '10*9/L': 1, '10^9/L': 1, '10*3/uL': 1, '10^3/uL': 1, '10*3/mm3': 1, '/nL': 1,
      '/uL': 0.001, '/mm3': 0.001, '10*6/L': 0.001, '/L': 1e-9
    };
  }

  var DATE = /^\d{4}-\d{2}-\d{2}$/;
  var SKIPPED_STATUSES = { 'entered-in-error': true, cancelled: true, 'not-done': true };
  var RECORDED_STATUS_KINDS = { remission: 'remission', relapse: 'relapse', recurrence: 'relapse' };

  /** {kind: Set of "system|code"} from the codes table. */
  function codeIndex(codesByKind) {
    var index = {};
    Object.keys(codesByKind || {}).forEach(function (kind) {
      index[kind] = new Set(codesByKind[kind]);
    });
    return index;
  }

  function codings(concept) {
    return (concept && Array.isArray(concept.coding)) ? concept.coding : [];
  }

  function inSet(index, kind, concept) {
    var set = index[kind];
    return !!set && codings(concept).some(function (c) { return set.has(c.system + '|' + c.code); });
  }

  function kindOf(index, concept, kinds) {
    for (var i = 0; i < kinds.length; i++) {
      if (inSet(index, kinds[i], concept)) {
        return kinds[i];
      }
    }
    return null;
  }

  /** The calendar date a FHIR date/dateTime was recorded on (its first 10 characters), or null. */
  function dateOf(value) {
    return typeof value === 'string' && value.length >= 10 && DATE.test(value.substring(0, 10))
      ? value.substring(0, 10) : null;
  }

  function observationDate(o) {
    return dateOf(o.effectiveDateTime) || dateOf(o.effectivePeriod && o.effectivePeriod.start)
      || dateOf(o.effectiveInstant) || dateOf(o.issued);
  }

  function round(value) {
    return Math.round(value * 1e6) / 1e6;
  }

  /**
   * A coded result (valueCodeableConcept or interpretation) as 'positive' / 'negative', else null.
   */
  function codedResult(index, o) {
    var concepts = [o.valueCodeableConcept].concat(o.interpretation || []);
    for (var i = 0; i < concepts.length; i++) {
      if (inSet(index, 'positiveResult', concepts[i])) {
        return 'positive';
      }
      if (inSet(index, 'negativeResult', concepts[i])) {
        return 'negative';
      }
    }
    return null;
  }

  /** One plotted point, or {skip: reason}. */
  function observationPoint(index, kind, o) {
    var date = observationDate(o);
    if (!date) {
      return { skip: 'no date' };
    }
    var point = { id: 'Observation/' + o.id, date: date };
    var q = o.valueQuantity;
    if (q && typeof q.value === 'number') {
      var reported = q.code || q.unit || '';
      var factor = SERIES[kind].factors[reported];
      if (factor === undefined) {
        return { skip: 'unit "' + reported + '" not recognized' };
      }
      point.value = round(q.value * factor);
      point.unit = SERIES[kind].unit;
      if (factor !== 1 || reported !== SERIES[kind].unit) {
        point.reported = q.value + ' ' + (q.unit || q.code);
      }
      var coded = codedResult(index, o);
      if (coded) {
        point.result = coded;
      }
      return point;
    }
    var result = codedResult(index, o);
    if (result) {
      point.value = null;
      point.result = result;
      return point;
    }
    if (typeof o.valueString === 'string') {
      point.value = null;
      point.text = o.valueString;
      return point;
    }
    return { skip: 'no value' };
  }

  /** A Procedure's span: {start, end, ongoing}; a performed dateTime is one day. */
  function procedureSpan(p, today) {
    if (typeof p.performedDateTime === 'string') {
      var d = dateOf(p.performedDateTime);
      return d ? { start: d, end: d, ongoing: false } : null;
    }
    var period = p.performedPeriod;
    var start = period && dateOf(period.start);
    if (!start) {
      return null;
    }
    var end = dateOf(period.end);
    return { start: start, end: end || today, ongoing: !end };
  }

  function byDate(a, b) {
    return a.date < b.date ? -1 : a.date > b.date ? 1 : 0;
  }

  function clinicalStatusOf(c) {
    var coding = codings(c.clinicalStatus)[0];
    return coding ? coding.code : null;
  }

  /**
   * Remission / relapse dates passed by the card that linked the app: repeated or comma-separated
   * YYYY-MM-DD values. Returns {markers, rejected}.
   */
  function markersFromParameters(params) {
    var markers = [];
    var rejected = [];
    ['remission', 'relapse'].forEach(function (kind) {
      (params[kind] || []).forEach(function (raw) {
        String(raw).split(',').forEach(function (value) {
          var v = value.trim();
          if (!v) {
            return;
          }
          if (DATE.test(v) && !isNaN(Date.parse(v))) {
            markers.push({ kind: kind, date: v, source: 'card' });
          } else {
            rejected.push(kind + '=' + v);
          }
        });
      });
    });
    return { markers: markers, rejected: rejected };
  }

  /**
   * The card's dates from a CDS Hooks link's appContext (the EHR hands it over in the SMART token response):
   * JSON {"remission": "YYYY-MM-DD" or [...], "relapse": ...} or a query string "remission=...&relapse=...".
   */
  function parametersFromAppContext(appContext) {
    var out = { remission: [], relapse: [] };
    if (typeof appContext !== 'string' || !appContext.trim()) {
      return out;
    }
    var parsed = null;
    try {
      parsed = JSON.parse(appContext);
    } catch (e) {
      parsed = null;
    }
    Object.keys(out).forEach(function (kind) {
      if (parsed && typeof parsed === 'object') {
        var v = parsed[kind];
        out[kind] = v === undefined || v === null ? [] : [].concat(v).map(String);
      } else {
        out[kind] = new URLSearchParams(appContext).getAll(kind);
      }
    });
    return out;
  }

  /**
   * The timeline of one patient.
   *
   * @param resources {observations, conditions, procedures}: arrays of FHIR R4 resources
   * @param codesByKind the codes table (/timeline/codes.json)
   * @param params {remission: [..], relapse: [..]} from the URL
   * @param today YYYY-MM-DD: the end of a course still going on
   */
  function build(resources, codesByKind, params, today) {
    var index = codeIndex(codesByKind);
    var series = {};
    Object.keys(SERIES).forEach(function (k) { series[k] = []; });
    var notPlotted = [];

    (resources.observations || []).forEach(function (o) {
      if (SKIPPED_STATUSES[o.status]) {
        return;
      }
      var kind = kindOf(index, o.code, Object.keys(SERIES));
      if (!kind) {
        return;
      }
      var point = observationPoint(index, kind, o);
      if (point.skip) {
        notPlotted.push({ id: 'Observation/' + o.id, kind: kind, reason: point.skip });
      } else {
        series[kind].push(point);
      }
    });
    Object.keys(series).forEach(function (k) { series[k].sort(byDate); });

    var bands = { chemotherapy: [], transplant: [] };
    (resources.procedures || []).forEach(function (p) {
      if (SKIPPED_STATUSES[p.status]) {
        return;
      }
      var kind = kindOf(index, p.code, ['chemotherapy', 'transplant']);
      if (!kind) {
        return;
      }
      var span = procedureSpan(p, today);
      if (!span) {
        notPlotted.push({ id: 'Procedure/' + p.id, kind: kind, reason: 'no date' });
        return;
      }
      span.id = 'Procedure/' + p.id;
      span.text = (p.code && p.code.text) || (codings(p.code)[0] || {}).display || kind;
      bands[kind].push(span);
    });
    Object.keys(bands).forEach(function (k) {
      bands[k].sort(function (a, b) { return a.start < b.start ? -1 : a.start > b.start ? 1 : 0; });
    });

    // Markers from the record: the diagnosis (earliest onset, else recordedDate, of any ALL Condition) and a
    // remission where an ALL Condition has an abatement date (FHIR: resolved or went into remission). A recorded
    // status with no date of its own (clinicalStatus relapse, C91.02) is listed, never placed at a guessed date.
    var markers = [];
    var recorded = [];
    var diagnosis = null;
    (resources.conditions || []).forEach(function (c) {
      if (!inSet(index, 'allCondition', c.code) || codings(c.verificationStatus).some(function (v) {
        return v.code === 'entered-in-error' || v.code === 'refuted';
      })) {
        return;
      }
      var onset = dateOf(c.onsetDateTime) || dateOf(c.onsetPeriod && c.onsetPeriod.start) || dateOf(c.recordedDate);
      if (onset && (!diagnosis || onset < diagnosis.date)) {
        diagnosis = { kind: 'diagnosis', date: onset, source: 'Condition/' + c.id };
      }
      var abatement = dateOf(c.abatementDateTime) || dateOf(c.abatementPeriod && c.abatementPeriod.start);
      if (abatement) {
        markers.push({ kind: 'remission', date: abatement, source: 'Condition/' + c.id });
      }
      var status = clinicalStatusOf(c);
      recorded.push({
        id: 'Condition/' + c.id,
        text: (c.code && c.code.text) || (codings(c.code)[0] || {}).display || 'ALL',
        clinicalStatus: status,
        statusKind: RECORDED_STATUS_KINDS[status] || null,
        recordedDate: dateOf(c.recordedDate)
      });
    });
    if (diagnosis) {
      markers.unshift(diagnosis);
    }
    var fromCard = markersFromParameters(params || {});
    fromCard.markers.forEach(function (m) { markers.push(m); });
    var seen = {};
    markers = markers.filter(function (m) {
      var key = m.kind + '@' + m.date;
      if (seen[key]) {
        return false;
      }
      seen[key] = true;
      return true;
    }).sort(byDate);

    var pointCount = Object.keys(series).reduce(function (n, k) { return n + series[k].length; }, 0);
    var hasData = pointCount > 0 || bands.chemotherapy.length > 0 || bands.transplant.length > 0 || !!diagnosis;
    return {
      status: hasData ? 'ready' : 'empty',
      series: series,
      bands: bands,
      markers: markers,
      recordedStatus: recorded,
      notPlotted: notPlotted,
      rejectedParameters: fromCard.rejected,
      counts: {
        observations: (resources.observations || []).length,
        conditions: (resources.conditions || []).length,
        procedures: (resources.procedures || []).length
      }
    };
  }

  return {
    SERIES: SERIES,
    THRESHOLDS: THRESHOLDS,
    build: build,
    markersFromParameters: markersFromParameters,
    parametersFromAppContext: parametersFromAppContext,
    dateOf: dateOf
  };
});
