/*
 * The card ledger's analytics page. It holds no data of its own: it reads GET /analytics/cards (totals, override
 * reasons, suggestions) and GET /analytics/cards/daily (per UTC day of issue) for the chosen window, sending the
 * analytics token (all-cds.analytics.token, never an EHR's JWT) typed in the form or given as #token=... in the
 * URL; the demo profile needs none. What is plotted is published as window.analyticsData, and the outcome as
 * <body data-analytics-status="ready|empty|unauthorized|error">.
 */
(function () {
  'use strict';

  var DAY_MS = 86400000;
  var FILL_DAYS_UP_TO = 400; // longer windows list only the days that have cards
  var state = { token: null, charts: {} };

  function el(id) { return document.getElementById(id); }

  function isoDay(date) { return date.toISOString().slice(0, 10); }

  function publish(data) {
    window.analyticsData = data;
    document.body.setAttribute('data-analytics-status', data.status);
  }

  function showMessage(kind, text) {
    var message = el('message');
    message.className = 'message ' + kind;
    message.textContent = text;
  }

  /** The token from the URL fragment (#token=...), removed from the address bar and history once read. */
  function tokenFromFragment() {
    var params = new URLSearchParams(window.location.hash.replace(/^#/, ''));
    var token = params.get('token');
    if (token) {
      window.history.replaceState(null, '', window.location.pathname + window.location.search);
    }
    return token;
  }

  function initialWindow() {
    var query = new URLSearchParams(window.location.search);
    var to = query.get('to') || isoDay(new Date(Date.now() + DAY_MS));
    var from = query.get('from') || isoDay(new Date(Date.parse(to) - 30 * DAY_MS));
    el('from').value = from;
    el('to').value = to;
  }

  function read(path, from, to) {
    var headers = { Accept: 'application/json' };
    if (state.token) {
      headers.Authorization = 'Bearer ' + state.token;
    }
    var url = path + '?from=' + encodeURIComponent(from) + '&to=' + encodeURIComponent(to);
    return fetch(url, { headers: headers, cache: 'no-store' }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (body) {
        return { status: response.status, body: body };
      });
    });
  }

  function load() {
    var from = el('from').value;
    var to = el('to').value;
    document.body.setAttribute('data-analytics-status', 'loading');
    showMessage('loading', 'Loading the card ledger\u2019s analytics\u2026');
    Promise.all([read('cards', from, to), read('cards/daily', from, to)]).then(function (answers) {
      var totals = answers[0];
      var daily = answers[1];
      var failed = totals.status !== 200 ? totals : daily.status !== 200 ? daily : null;
      if (failed && failed.status === 401) {
        fail('unauthorized', 'The analytics need the analytics token (all-cds.analytics.token): enter it above, '
            + 'or open this page as /analytics/#token=\u2026');
        el('token').focus();
      } else if (failed) {
        fail('error', 'The analytics could not be read: ' + (failed.body.message || ('HTTP ' + failed.status)));
      } else {
        render(model(totals.body, daily.body));
      }
    }).catch(function (error) {
      fail('error', 'The analytics could not be read: ' + error.message);
    });
  }

  function fail(status, text) {
    el('report').hidden = true;
    showMessage(status, text);
    publish({ status: status, message: text });
  }

  function topicLabel(service, topic, services) {
    return services > 1 ? service + ' / ' + topic : topic;
  }

  /** What the charts and tables show, from the two answers. */
  function model(totals, daily) {
    var topics = [];
    var suggestions = [];
    var reasonCodes = [];
    var services = totals.services.length;
    totals.services.forEach(function (service) {
      service.topics.forEach(function (t) {
        topics.push({
          service: service.service, topic: t.topic, label: topicLabel(service.service, t.topic, services),
          issued: t.issued, accepted: t.accepted, overridden: t.overridden,
          acceptanceRate: t.acceptanceRate, overrideRate: t.overrideRate, overrideReasons: t.overrideReasons
        });
        Object.keys(t.overrideReasons).forEach(function (code) {
          if (reasonCodes.indexOf(code) < 0) {
            reasonCodes.push(code);
          }
        });
        t.suggestions.forEach(function (s) {
          suggestions.push({ service: service.service, topic: t.topic, label: s.label, offered: s.offered,
            accepted: s.accepted, acceptanceRate: s.acceptanceRate });
        });
      });
    });
    reasonCodes.sort();

    var days = dayAxis(totals.from, totals.to, daily);
    var dailySeries = [];
    daily.services.forEach(function (service) {
      service.topics.forEach(function (t) {
        var byDay = {};
        t.days.forEach(function (d) { byDay[d.day] = d; });
        ['accepted', 'overridden'].forEach(function (outcome) {
          dailySeries.push({
            name: topicLabel(service.service, t.topic, daily.services.length) + ' \u00b7 ' + outcome,
            service: service.service, topic: t.topic, outcome: outcome,
            data: days.map(function (day) { return byDay[day] ? byDay[day][outcome] : 0; }),
            issued: days.map(function (day) { return byDay[day] ? byDay[day].issued : 0; })
          });
        });
      });
    });

    var reasonTotals = {};
    reasonCodes.forEach(function (code) { reasonTotals[code] = 0; });
    var reasonSeries = topics.filter(function (t) { return t.overridden > 0; }).map(function (t) {
      return {
        name: t.label, service: t.service, topic: t.topic,
        data: reasonCodes.map(function (code) {
          var n = t.overrideReasons[code] || 0;
          reasonTotals[code] += n;
          return n;
        })
      };
    });

    return {
      status: topics.length === 0 ? 'empty' : 'ready',
      from: totals.from, to: totals.to,
      topics: topics,
      daily: { days: days, series: dailySeries },
      reasons: { codes: reasonCodes, totals: reasonTotals, series: reasonSeries },
      suggestions: suggestions
    };
  }

  /** Every UTC day of the window (short windows), else the days that have cards. */
  function dayAxis(from, to, daily) {
    var start = Date.parse(from.slice(0, 10));
    var end = Date.parse(to);
    var days = [];
    if ((end - start) / DAY_MS <= FILL_DAYS_UP_TO) {
      for (var t = start; t < end; t += DAY_MS) {
        days.push(isoDay(new Date(t)));
      }
      return days;
    }
    daily.services.forEach(function (s) {
      s.topics.forEach(function (t) {
        t.days.forEach(function (d) {
          if (days.indexOf(d.day) < 0) {
            days.push(d.day);
          }
        });
      });
    });
    return days.sort();
  }

  function render(data) {
    if (data.status === 'empty') {
      el('report').hidden = true;
      showMessage('empty', 'No cards were issued between ' + data.from + ' and ' + data.to
          + ', so there is nothing to plot. Choose another window, or check that the ledger is on.');
      publish(data);
      return;
    }
    el('report').hidden = false;
    var issued = data.topics.reduce(function (n, t) { return n + t.issued; }, 0);
    showMessage('ready', issued + ' cards issued from ' + data.from + ' to ' + data.to + ' (days in UTC).');
    drawDaily(data.daily);
    drawReasons(data.reasons);
    fillTable('topics', data.topics.map(function (t) {
      return [t.service, t.topic, t.issued, t.accepted, t.overridden, percent(t.acceptanceRate), percent(t.overrideRate)];
    }));
    fillTable('suggestions', data.suggestions.map(function (s) {
      return [s.service, s.topic, s.label, s.offered, s.accepted, percent(s.acceptanceRate)];
    }), 'No card in this window offered a suggestion.');
    publish(data);
  }

  function chart(id) {
    if (!state.charts[id]) {
      state.charts[id] = echarts.init(el(id), null, { renderer: 'canvas' });
      window.addEventListener('resize', function () { state.charts[id].resize(); });
    }
    return state.charts[id];
  }

  function drawDaily(daily) {
    var palette = ['#2f6fb0', '#c2410c', '#15803d', '#7c3aed', '#b91c1c', '#0e7490', '#a16207', '#be185d', '#4d7c0f',
      '#475569', '#9333ea', '#0369a1'];
    var topicColors = {};
    chart('daily').setOption({
      animation: false,
      grid: { left: 48, right: 24, top: 56, bottom: 40 },
      legend: { type: 'scroll', top: 0 },
      tooltip: { trigger: 'axis' },
      xAxis: { type: 'category', data: daily.days, axisLabel: { hideOverlap: true } },
      yAxis: { type: 'value', name: 'cards', minInterval: 1 },
      series: daily.series.map(function (s) {
        var key = s.service + '/' + s.topic;
        if (!topicColors[key]) {
          topicColors[key] = palette[Object.keys(topicColors).length % palette.length];
        }
        return {
          name: s.name, type: 'line', data: s.data, showSymbol: true, symbolSize: 5,
          color: topicColors[key],
          lineStyle: { type: s.outcome === 'overridden' ? 'dashed' : 'solid', width: 2 }
        };
      })
    }, true);
  }

  function drawReasons(reasons) {
    chart('reasons').setOption({
      animation: false,
      grid: { left: 48, right: 24, top: 40, bottom: 40 },
      legend: { type: 'scroll', top: 0 },
      tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' } },
      xAxis: { type: 'category', data: reasons.codes },
      yAxis: { type: 'value', name: 'cards overridden', minInterval: 1 },
      series: reasons.series.map(function (s) {
        return { name: s.name, type: 'bar', stack: 'reasons', data: s.data, barMaxWidth: 60 };
      })
    }, true);
  }

  function percent(rate) { return (Math.round(rate * 1000) / 10) + ' %'; }

  /** Table rows as text nodes only: labels never become markup. */
  function fillTable(id, rows, emptyText) {
    var body = el(id).querySelector('tbody');
    body.textContent = '';
    if (rows.length === 0 && emptyText) {
      var tr = body.insertRow();
      var td = tr.insertCell();
      td.colSpan = el(id).querySelectorAll('th').length;
      td.textContent = emptyText;
      return;
    }
    rows.forEach(function (row) {
      var tr = body.insertRow();
      row.forEach(function (value) {
        var td = tr.insertCell();
        td.textContent = String(value);
        if (typeof value === 'number' || /%$/.test(String(value))) {
          td.className = 'number';
        }
      });
    });
  }

  state.token = tokenFromFragment();
  if (state.token) {
    el('token').value = state.token;
  }
  initialWindow();
  el('query').addEventListener('submit', function (event) {
    event.preventDefault();
    state.token = el('token').value.trim() || null;
    load();
  });
  load();
}());
