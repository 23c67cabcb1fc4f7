// 双随机一公开: the page a town office posts for a draw. It shows what `GET /api/v1/public/draws/{id}` publishes:
// the draw (range, count, method and seed, so that anyone can check it) and each target's result, with venue
// names only. Nothing is stored and nothing is sent but that one read.
(function () {
  'use strict';

  var RISK = { low: '低', normal: '一般', high: '高' };

  function $(id) {
    return document.getElementById(id);
  }

  function cell(tag, text) {
    var el = document.createElement(tag);
    el.textContent = text;
    return el;
  }

  function fact(list, term, value) {
    list.appendChild(cell('dt', term));
    list.appendChild(cell('dd', value));
  }

  // The office's words end a sentence of the page: with their own full stop if they have one.
  function sentence(text) {
    return /[。！？.!?]$/.test(text) ? text : text + '。';
  }

  function fail(text) {
    $('loading').hidden = true;
    var err = $('error');
    err.textContent = text;
    err.hidden = false;
  }

  function render(d) {
    document.title = '双随机抽查结果公示 · ' + d.area_name;
    var facts = $('facts');
    fact(facts, '抽取日期', d.drawn_on);
    var scope = d.area_name + '，共 ' + d.population_size + ' 家';
    var names = d.kind_names && d.kind_names.length ? d.kind_names : d.kinds;
    if (names.length) scope += '（类型：' + names.join('、') + '）';
    if (d.risk_levels.length) {
      scope += '（风险等级：' + d.risk_levels.map(function (r) { return RISK[r] || r; }).join('、') + '）';
    }
    fact(facts, '抽取范围', scope);
    fact(facts, '抽取', d.count + ' 家，每家 ' + d.inspectors_per_target + ' 名检查人员');
    var done = d.results.filter(function (r) { return r.inspected_on; }).length;
    if (d.voided_on) {
      fact(facts, '状态', '已作废');
      var voided = $('voided');
      voided.textContent = '这次抽查已于 ' + d.voided_on + ' 作废。理由：' + sentence(d.void_reason) + '抽中的场所不再按这次抽查检查。';
      voided.hidden = false;
    } else {
      fact(facts, '完成期限', d.due_on);
      fact(facts, '进度', '已检查 ' + done + '/' + d.count);
    }
    fact(facts, '方法与随机种子', d.method + ' · ' + d.seed);
    var body = $('results');
    d.results.forEach(function (r, i) {
      var tr = document.createElement('tr');
      tr.appendChild(cell('td', String(i + 1)));
      tr.appendChild(cell('th', r.venue_name || '—')).setAttribute('scope', 'row');
      tr.appendChild(cell('td', r.inspected_on || (d.voided_on ? '—' : '未检查')));
      tr.appendChild(cell('td', r.outcome || '—'));
      body.appendChild(tr);
    });
    $('loading').hidden = true;
    $('draw').hidden = false;
  }

  function start() {
    var match = /^\/report\/draws\/([0-9a-fA-F-]{36})\/?$/.exec(location.pathname);
    if (!match) {
      fail('链接不完整：没有这次抽查。请检查链接是否复制完整。');
      return;
    }
    fetch('/api/v1/public/draws/' + match[1], { credentials: 'omit', cache: 'no-store' })
      .then(function (res) {
        if (res.status === 404) throw new Error('missing');
        if (!res.ok) throw new Error('status');
        return res.json();
      })
      .then(render)
      .catch(function (e) {
        if (e && e.message === 'missing') fail('没有这次抽查。请检查链接是否复制完整。');
        else if (e && e.message === 'status') fail('暂时无法加载，请稍后刷新重试。');
        else fail('网络不通，请联网后刷新重试。');
      });
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
