/*
 * Disease-course timeline (SMART on FHIR app). Two ways in:
 *   index.html?fhirServiceUrl=<open FHIR base>&patientId=<id>[&remission=YYYY-MM-DD][&relapse=YYYY-MM-DD]  (testing)
 *   launch.html?iss=...&launch=...  (SMART EHR launch; fhirclient's oauth2.ready() here)
 * Reads the patient's Observations, Conditions and Procedures (every page), builds the timeline with
 * TimelineData and draws it with ECharts. The result is also window.timelineData (for the browser test).
 */
(function () {
  'use strict';

  var MARKERS_KEY = 'all-cds-timeline-markers';
  var PAGE_SIZE = 500;
  var COLORS = {
    marrowBlasts: '#b83280', anc: '#2b6cb0', platelets: '#2f855a', hemoglobin: '#c05621', mrd: '#6b46c1',
    csfPositive: '#c53030', csfNegative: '#718096', chemotherapy: 'rgba(66, 153, 225, 0.13)',
    transplant: 'rgba(159, 122, 234, 0.28)', threshold: '#a0aec0',
    diagnosis: '#4a5568', remission: '#2f855a', relapse: '#c53030'
  };
  var MARKER_LABELS = { diagnosis: 'Diagnosis', remission: 'Remission', relapse: 'Relapse' };

  var params = new URLSearchParams(window.location.search);
  var messageEl = document.getElementById('message');

  function publish(data) {
    window.timelineData = data;
    document.body.setAttribute('data-timeline-status', data.status);
  }

  function show(kind, text) {
    messageEl.className = 'message ' + kind;
    messageEl.textContent = text;
  }

  function today() {
    var d = new Date();
    return d.getFullYear() + '-' + String(d.getMonth() + 1).padStart(2, '0') + '-' + String(d.getDate()).padStart(2, '0');
  }

  /**
   * The card's dates: from this page's URL, else from the link's appContext (SMART token response), else those
   * launch.html kept from its own URL across the authorization redirect.
   */
  function cardParameters(client) {
    if (params.has('remission') || params.has('relapse')) {
      return { remission: params.getAll('remission'), relapse: params.getAll('relapse') };
    }
    var tokenResponse = client && client.state && client.state.tokenResponse;
    if (tokenResponse && tokenResponse.appContext) {
      return TimelineData.parametersFromAppContext(tokenResponse.appContext);
    }
    try {
      return JSON.parse(sessionStorage.getItem(MARKERS_KEY) || '{}');
    } catch (e) {
      return {};
    }
  }

  function connect() {
    var server = params.get('fhirServiceUrl');
    if (server) {
      var patientId = params.get('patientId');
      if (!patientId) {
        return Promise.reject(new Error('patientId is missing: open index.html?fhirServiceUrl=...&patientId=...'));
      }
      // An open FHIR server (no authorization): the test FHIR server, or a public sandbox.
      return Promise.resolve(FHIR.client({ serverUrl: server, tokenResponse: { patient: patientId } }));
    }
    return FHIR.oauth2.ready();
  }

  function fetchCodes() {
    return fetch('codes.json', { headers: { Accept: 'application/json' } }).then(function (r) {
      if (!r.ok) {
        throw new Error('the timeline codes could not be loaded (HTTP ' + r.status + ')');
      }
      return r.json();
    });
  }

  function search(client, type, patientId) {
    // pageLimit 0: follow every next link; a page that fails fails the whole view (never a partial chart).
    return client.request(type + '?patient=' + encodeURIComponent(patientId) + '&_count=' + PAGE_SIZE,
      { pageLimit: 0, flat: true });
  }

  function patientLine(patient) {
    if (!patient) {
      return '';
    }
    var name = (patient.name || [])[0] || {};
    var text = name.text || [(name.given || []).join(' '), name.family].filter(Boolean).join(' ');
    return [text || ('Patient/' + patient.id), patient.gender, patient.birthDate ? 'born ' + patient.birthDate : null]
      .filter(Boolean).join(' · ');
  }

  function failureText(error) {
    var status = error && (error.status || (error.response && error.response.status));
    var detail = error && error.message ? error.message : String(error);
    if (status === 404) {
      return 'The patient was not found on the FHIR server (' + detail + ').';
    }
    return 'The FHIR server could not be read: ' + detail
      + '. Nothing is plotted, so that a partial record is not taken for the whole one.';
  }

  function run() {
    var patientId;
    var serverUrl;
    var smartClient;
    connect().then(function (client) {
      smartClient = client;
      patientId = client.patient.id;
      serverUrl = client.state.serverUrl;
      if (!patientId) {
        throw new Error('the launch gave no patient in context');
      }
      return Promise.all([
        fetchCodes(),
        client.request('Patient/' + encodeURIComponent(patientId)),
        search(client, 'Observation', patientId),
        search(client, 'Condition', patientId),
        search(client, 'Procedure', patientId)
      ]);
    }).then(function (answers) {
      var patient = answers[1];
      document.getElementById('patient').textContent = patientLine(patient);
      var timeline = TimelineData.build(
        { observations: answers[2], conditions: answers[3], procedures: answers[4] },
        answers[0], cardParameters(smartClient), today());
      timeline.patientId = patientId;
      timeline.fhirServer = serverUrl;
      publishAndDraw(timeline);
    }).catch(function (error) {
      show('error', failureText(error));
      publish({ status: 'error', patientId: patientId || params.get('patientId'), fhirServer: serverUrl,
        message: messageEl.textContent });
    });
  }

  function publishAndDraw(timeline) {
    if (timeline.status === 'empty') {
      show('empty', 'No leukemia results, treatments or ALL diagnoses are recorded for this patient '
        + '(' + timeline.counts.observations + ' observations, ' + timeline.counts.conditions + ' conditions and '
        + timeline.counts.procedures + ' procedures read). There is no disease course to show.');
      timeline.message = messageEl.textContent;
      publish(timeline);
      return;
    }
    show('ready', '');
    describeRecordedStatus(timeline);
    describeNotPlotted(timeline);
    var chartEl = document.getElementById('chart');
    chartEl.hidden = false;
    publish(timeline);
    draw(chartEl, timeline);
  }

  function describeRecordedStatus(timeline) {
    var parts = timeline.recordedStatus.map(function (s) {
      return s.text + ': clinical status ' + (s.clinicalStatus || 'not given')
        + (s.recordedDate ? ' (recorded ' + s.recordedDate + ')' : '');
    });
    document.getElementById('recorded').textContent = parts.length ? 'Problem list: ' + parts.join('; ') : '';
  }

  function describeNotPlotted(timeline) {
    var notes = timeline.notPlotted.map(function (n) { return n.id + ' (' + n.kind + '): ' + n.reason; });
    if (timeline.rejectedParameters.length) {
      notes.push('dates in the link that are not YYYY-MM-DD: ' + timeline.rejectedParameters.join(', '));
    }
    document.getElementById('notes').textContent = notes.length ? 'Not plotted: ' + notes.join('; ') : '';
  }

  // ---- chart ---------------------------------------------------------------------------------------------------

  function panels(timeline) {
    return [
      // The dated events (diagnosis, remission, relapse) in a strip of two staggered lanes, so that close dates
      // do not print over each other; their lines run through every panel below.
      { key: 'events', title: 'Events', height: 46, y: { type: 'category', data: ['0', '1'], show: false } },
      { key: 'marrowBlasts', title: 'Marrow blasts (%)', height: 150, y: { type: 'value', min: 0, max: 100 } },
      { key: 'anc', title: 'ANC (x10^9/L)', height: 95, y: { type: 'value', min: 0 } },
      { key: 'platelets', title: 'Platelets (x10^9/L)', height: 95, y: { type: 'value', min: 0 } },
      { key: 'hemoglobin', title: 'Hemoglobin (g/dL)', height: 95, y: { type: 'value', min: 0 } },
      { key: 'mrd', title: 'MRD (%, log scale; negative shown at the floor)', height: 120,
        y: { type: 'log', min: 0.001, max: 100, logBase: 10 } },
      { key: 'csf', title: 'CSF (lumbar puncture)', height: 95,
        y: { type: 'category', data: ['Cytology', 'Blasts %', 'WBC /uL'] } }
    ].map(function (p) {
      if (p.key === 'events') {
        p.empty = timeline.markers.length === 0;
      } else if (p.key === 'csf') {
        p.empty = !(timeline.series.csfWbc.length || timeline.series.csfBlasts.length || timeline.series.csfCytology.length);
      } else {
        p.empty = timeline.series[p.key].length === 0;
      }
      return p;
    });
  }

  function timeRange(timeline) {
    var dates = [today()];
    Object.keys(timeline.series).forEach(function (k) {
      timeline.series[k].forEach(function (p) { dates.push(p.date); });
    });
    ['chemotherapy', 'transplant'].forEach(function (k) {
      timeline.bands[k].forEach(function (b) { dates.push(b.start, b.end); });
    });
    timeline.markers.forEach(function (m) { dates.push(m.date); });
    dates.sort();
    var min = Date.parse(dates[0]);
    var max = Date.parse(dates[dates.length - 1]);
    var pad = Math.max(20 * 86400000, (max - min) * 0.03);
    return { min: min - pad, max: max + pad };
  }

  function pointTooltip(label, p) {
    var value = p.value === null || p.value === undefined
      ? (p.result || p.text || '')
      : p.value + ' ' + p.unit + (p.result ? ' (' + p.result + ')' : '');
    return '<b>' + label + '</b>: ' + value + (p.reported ? '<br>reported as ' + p.reported : '') + '<br>' + p.date;
  }

  /** Chemotherapy and transplant bands, and the dated markers' lines: on every panel; band names on the top one. */
  function backdrop(timeline, top) {
    var areas = [];
    timeline.bands.chemotherapy.forEach(function (b) {
      areas.push([{ name: top ? 'Chemotherapy' : '', xAxis: b.start,
        itemStyle: { color: COLORS.chemotherapy, borderColor: 'rgba(66, 153, 225, 0.55)', borderWidth: 1 },
        tip: 'Chemotherapy: ' + b.start + ' to ' + (b.ongoing ? 'ongoing' : b.end) }, { xAxis: b.end }]);
    });
    timeline.bands.transplant.forEach(function (b) {
      var end = b.end === b.start ? new Date(Date.parse(b.end) + 7 * 86400000).toISOString().substring(0, 10) : b.end;
      areas.push([{ name: top ? 'HSCT' : '', xAxis: b.start, itemStyle: { color: COLORS.transplant },
        tip: 'Stem cell transplant: ' + b.start + (b.end !== b.start ? ' to ' + b.end : '') }, { xAxis: end }]);
    });
    var lines = timeline.markers.map(function (m) {
      return {
        xAxis: m.date,
        lineStyle: { color: COLORS[m.kind], type: m.kind === 'diagnosis' ? 'dotted' : 'solid', width: 2 },
        label: { show: false },
        tip: MARKER_LABELS[m.kind] + ': ' + m.date + (m.source === 'card' ? ' (from the card)' : ' (' + m.source + ')')
      };
    });
    return { areas: areas, lines: lines };
  }

  function draw(el, timeline) {
    var chart = echarts.init(el, null, { renderer: 'canvas' });
    var ps = panels(timeline);
    var range = timeRange(timeline);
    var grids = [];
    var xAxes = [];
    var yAxes = [];
    var series = [];
    var titles = [];
    var topOffset = 60;
    var gap = 36;

    ps.forEach(function (p, i) {
      grids.push({ left: 90, right: 150, top: topOffset, height: p.height });
      titles.push({ text: p.title + (p.empty ? ': none recorded' : ''), left: 90, top: topOffset - 22,
        textStyle: { fontSize: 13, fontWeight: 'bold', color: p.empty ? '#9aa5b1' : '#243b53' } });
      topOffset += p.height + gap;
      xAxes.push({ type: 'time', gridIndex: i, min: range.min, max: range.max,
        axisLabel: { show: i === ps.length - 1, formatter: '{yyyy}-{MM}' }, splitLine: { show: true, lineStyle: { color: '#f0f4f8' } } });
      yAxes.push(Object.assign({ gridIndex: i, axisLabel: { fontSize: 11 }, splitLine: { lineStyle: { color: '#f0f4f8' } } }, p.y));

      var back = backdrop(timeline, p.key === 'marrowBlasts');
      var threshold = TimelineData.THRESHOLDS[p.key];
      var markLines = back.lines.slice();
      if (threshold) {
        markLines.push({ yAxis: threshold.value, lineStyle: { color: COLORS.threshold, type: 'dashed', width: 1.5 },
          label: { show: true, position: 'end', formatter: threshold.label, color: '#627d98' },
          tip: 'Threshold ' + threshold.label });
      }
      // A holder series per panel carries the bands and lines, so an empty panel still shows them.
      series.push({ name: p.key + '-backdrop', type: 'line', xAxisIndex: i, yAxisIndex: i, data: [], silent: false,
        markArea: { silent: false, data: back.areas, label: { color: '#2c5282', position: 'insideTopLeft' } },
        markLine: { symbol: 'none', data: markLines, animation: false } });

      if (p.key === 'events') {
        series.push(eventSeries(timeline, i));
      } else if (p.key === 'csf') {
        series.push(csfSeries(timeline, i));
      } else if (!p.empty) {
        series.push(valueSeries(timeline, p, i));
      }
    });

    chart.setOption({
      animation: false,
      title: titles,
      grid: grids,
      xAxis: xAxes,
      yAxis: yAxes,
      series: series,
      dataZoom: [{ type: 'inside', xAxisIndex: ps.map(function (_, i) { return i; }) },
        { type: 'slider', xAxisIndex: ps.map(function (_, i) { return i; }), top: topOffset - 10, height: 18 }],
      tooltip: {
        trigger: 'item', confine: true,
        formatter: function (item) {
          if (item.componentType === 'markArea' || item.componentType === 'markLine') {
            return item.data && item.data.tip ? item.data.tip : '';
          }
          return item.data && item.data.tip ? item.data.tip : '';
        }
      }
    });
    el.style.height = (topOffset + 20) + 'px';
    chart.resize();
    window.addEventListener('resize', function () { chart.resize(); });
  }

  function valueSeries(timeline, p, i) {
    var def = TimelineData.SERIES[p.key];
    var isMrd = p.key === 'mrd';
    var data = timeline.series[p.key].map(function (point) {
      var y = point.value;
      var coded = y === null || y === undefined;
      if (isMrd && (coded || y <= 0)) {
        // log scale: a negative (or 0) result sits at the axis floor, drawn hollow
        y = point.result === 'positive' ? TimelineData.THRESHOLDS.mrd.value : 0.001;
      }
      return { value: [point.date, y], tip: pointTooltip(def.label, point),
        symbol: isMrd && (coded || point.value <= 0) ? 'emptyCircle' : 'circle',
        label: { show: true, position: 'top', fontSize: 10, color: '#334e68',
          formatter: coded ? (point.result || '') : String(point.value) } };
    });
    return { name: def.label, type: 'line', xAxisIndex: i, yAxisIndex: i, data: data, symbolSize: 8,
      lineStyle: { color: COLORS[p.key], width: 2 }, itemStyle: { color: COLORS[p.key] }, connectNulls: true };
  }

  function eventSeries(timeline, i) {
    var data = timeline.markers.map(function (m, n) {
      return { value: [m.date, String(n % 2)], symbol: 'triangle', symbolRotate: 180,
        tip: MARKER_LABELS[m.kind] + ': ' + m.date + (m.source === 'card' ? ' (from the card)' : ' (' + m.source + ')'),
        itemStyle: { color: COLORS[m.kind] },
        label: { show: true, position: 'right', fontSize: 12, fontWeight: 'bold', color: COLORS[m.kind],
          formatter: MARKER_LABELS[m.kind] + ' ' + m.date } };
    });
    return { name: 'Events', type: 'scatter', xAxisIndex: i, yAxisIndex: i, data: data, symbolSize: 11 };
  }

  function csfSeries(timeline, i) {
    var data = [];
    function add(kind, lane, abnormal, text) {
      timeline.series[kind].forEach(function (p) {
        var bad = abnormal(p);
        data.push({ value: [p.date, lane], tip: pointTooltip(TimelineData.SERIES[kind].label, p),
          itemStyle: { color: bad ? COLORS.csfPositive : COLORS.csfNegative },
          label: { show: true, position: 'right', fontSize: 10, formatter: text(p), color: bad ? COLORS.csfPositive : '#52606d' } });
      });
    }
    add('csfCytology', 'Cytology', function (p) { return p.result === 'positive'; },
      function (p) { return p.result || p.text || ''; });
    add('csfBlasts', 'Blasts %', function (p) { return p.value > 0; }, function (p) { return p.value + ' %'; });
    add('csfWbc', 'WBC /uL', function (p) { return p.value >= 5; }, function (p) { return p.value + '/uL'; });
    return { name: 'CSF', type: 'scatter', xAxisIndex: i, yAxisIndex: i, data: data, symbolSize: 10 };
  }

  run();
})();
