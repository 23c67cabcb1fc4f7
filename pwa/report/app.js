// The public report page (/report, /report/status). A plain script with no dependencies: it must load
// fast on a weak network, run in any phone browser and work without the inspector app.
//
// Offline: a submitted report is first saved on the phone (IndexedDB) with a draft id made here, then
// sent. If the network is down it stays saved and is sent when the network returns (the `online` event,
// a timer, or the next time this page is opened). The server files one report per draft id and answers a
// repeat with the same receipt, so a send whose reply was lost is simply sent again. The draft is deleted
// from the phone as soon as its receipt is shown; the receipt itself is never stored on the phone.
(function () {
  'use strict';

  var API = '/api/v1/public';
  var MAX_PHOTOS = 5;
  var MAX_SIDE = 1600;
  var JPEG_QUALITY = 0.8;
  var RETRY_MS = 30000;
  // A send that failed for want of network while the phone says it is online (a flaky link, a network
  // that has just come back) is tried again soon, not only at the next `online` event or page load.
  var NETWORK_RETRY_MS = 5000;
  var SEND_TIMEOUT_MS = 120000;
  var FETCH_OPTS = { credentials: 'omit', cache: 'no-store', referrerPolicy: 'no-referrer' };

  var STATUS_TEXT = {
    received: '已收到，等待核查',
    accepted: '已受理，正在核查整改',
    resolved: '隐患已整改完毕',
    rejected: '未予受理',
    duplicate: '重复举报，已并入同一隐患处理',
  };

  var ERROR_TEXT = {
    unknown_category: '请选择举报类别。',
    description_required: '请写明发现了什么问题。',
    description_too_long: '问题描述最多 4000 字，请精简后再提交。',
    location_too_long: '地点最多 500 字。',
    contact_too_long: '联系方式最多 200 字。',
    invalid_position: '定位信息有误，请点“不发送位置”后重试。',
    too_many_photos: '最多只能附 5 张照片。',
    file_too_large: '有照片太大，请删掉后重试。',
    payload_too_large: '照片太大，请少附几张后重试。',
    image_too_large: '有照片太大，请删掉后重试。',
    unsupported_media_type: '有照片无法识别（不是图片），请删掉后重试。',
    invalid_image: '有照片已损坏，请删掉后重试。',
    empty_file: '有照片是空的，请删掉后重试。',
    draft_conflict: '这份举报已经提交过了。',
    invalid_draft_id: '页面出错，请刷新后重试。',
    validation_error: '填写的内容有误，请检查后重试。',
    invalid_characters: '填写的内容里有无法识别的字符，请删掉后重试。',
    rate_limited: '提交太频繁，请稍后再试。',
  };

  function waitText(seconds) {
    var s = Math.max(1, Math.ceil(seconds));
    if (s < 60) return s + ' 秒';
    var m = Math.ceil(s / 60);
    return m < 60 ? m + ' 分钟' : Math.ceil(m / 60) + ' 小时';
  }

  function $(id) {
    return document.getElementById(id);
  }

  function show(el, text) {
    if (text !== undefined) el.textContent = text;
    el.hidden = false;
  }

  function hide(el) {
    el.hidden = true;
  }

  function newId() {
    if (window.crypto && typeof crypto.randomUUID === 'function') return crypto.randomUUID();
    var b = new Uint8Array(16);
    crypto.getRandomValues(b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) {
      return (x + 0x100).toString(16).slice(1);
    }).join('');
    return h.slice(0, 8) + '-' + h.slice(8, 12) + '-' + h.slice(12, 16) + '-' + h.slice(16, 20) + '-' + h.slice(20);
  }

  // ------------------------------------------------------------------ drafts kept on the phone

  var store = (function () {
    var memory = {};
    var dbPromise = null;

    function open() {
      if (!dbPromise) {
        dbPromise = new Promise(function (resolve, reject) {
          if (!window.indexedDB) return reject(new Error('no IndexedDB'));
          var req = indexedDB.open('safegrid-report', 1);
          req.onupgradeneeded = function () {
            req.result.createObjectStore('drafts', { keyPath: 'draft_id' });
          };
          req.onsuccess = function () {
            resolve(req.result);
          };
          req.onerror = function () {
            reject(req.error);
          };
        });
      }
      return dbPromise;
    }

    function run(mode, fn) {
      return open().then(function (db) {
        return new Promise(function (resolve, reject) {
          var tx = db.transaction('drafts', mode);
          var result;
          var req = fn(tx.objectStore('drafts'));
          if (req) {
            req.onsuccess = function () {
              result = req.result;
            };
          }
          tx.oncomplete = function () {
            resolve(result);
          };
          tx.onerror = tx.onabort = function () {
            reject(tx.error);
          };
        });
      });
    }

    function values(obj) {
      return Object.keys(obj).map(function (k) {
        return obj[k];
      });
    }

    return {
      durable: true,
      put: function (draft) {
        return run('readwrite', function (s) {
          return s.put(draft);
        }).catch(function () {
          store.durable = false;
          memory[draft.draft_id] = draft;
        });
      },
      remove: function (id) {
        delete memory[id];
        return run('readwrite', function (s) {
          return s.delete(id);
        }).catch(function () {});
      },
      all: function () {
        return run('readonly', function (s) {
          return s.getAll();
        })
          .then(function (rows) {
            return (rows || []).concat(values(memory));
          })
          .catch(function () {
            return values(memory);
          });
      },
    };
  })();

  // ------------------------------------------------------------------ photos: compressed on the phone

  function decode(file) {
    if (typeof createImageBitmap === 'function') {
      return createImageBitmap(file, { imageOrientation: 'from-image' }).catch(function () {
        return decodeWithImg(file);
      });
    }
    return decodeWithImg(file);
  }

  function decodeWithImg(file) {
    return new Promise(function (resolve, reject) {
      var url = URL.createObjectURL(file);
      var img = new Image();
      img.onload = function () {
        URL.revokeObjectURL(url);
        resolve(img);
      };
      img.onerror = function () {
        URL.revokeObjectURL(url);
        reject(new Error('not an image'));
      };
      img.src = url;
    });
  }

  // Long side ≤ 1600 px, JPEG ~0.8, drawn through a canvas: the result carries none of the camera's
  // metadata (no EXIF, GPS, time or phone model).
  function compress(file) {
    return decode(file).then(function (src) {
      var w = src.width || src.naturalWidth;
      var h = src.height || src.naturalHeight;
      var scale = Math.min(1, MAX_SIDE / Math.max(w, h));
      var tw = Math.max(1, Math.round(w * scale));
      var th = Math.max(1, Math.round(h * scale));
      var canvas = document.createElement('canvas');
      canvas.width = tw;
      canvas.height = th;
      var ctx = canvas.getContext('2d', { alpha: false });
      ctx.fillStyle = '#fff';
      ctx.fillRect(0, 0, tw, th);
      ctx.imageSmoothingQuality = 'high';
      ctx.drawImage(src, 0, 0, tw, th);
      if (src.close) src.close();
      return new Promise(function (resolve, reject) {
        canvas.toBlob(
          function (blob) {
            canvas.width = 0;
            canvas.height = 0;
            if (blob) resolve(blob);
            else reject(new Error('encode failed'));
          },
          'image/jpeg',
          JPEG_QUALITY
        );
      });
    });
  }

  // ------------------------------------------------------------------ the form

  var photos = []; // [{blob, url}]
  var position = null; // {lat, lng}
  var processing = 0;
  var sending = false;
  var flushAgain = false;
  var networkTimer = null;
  // The request being sent, so that the network's return can restart it: one begun while the phone was
  // offline, or as the signal came and went, may hang until its time limit rather than fail.
  var inflight = null;
  var retryTimer = null;
  var formView, receiptView;

  function renderPhotos() {
    var list = $('photo-list');
    list.textContent = '';
    photos.forEach(function (p, i) {
      var li = document.createElement('li');
      var img = document.createElement('img');
      img.src = p.url;
      img.alt = '照片 ' + (i + 1);
      var del = document.createElement('button');
      del.type = 'button';
      del.textContent = '删除';
      del.setAttribute('aria-label', '删除照片 ' + (i + 1));
      del.addEventListener('click', function () {
        URL.revokeObjectURL(p.url);
        photos.splice(photos.indexOf(p), 1);
        renderPhotos();
      });
      li.appendChild(img);
      li.appendChild(del);
      list.appendChild(li);
    });
    $('photos').disabled = photos.length >= MAX_PHOTOS;
    $('photos-add').disabled = photos.length >= MAX_PHOTOS;
    $('photos-add').textContent = photos.length >= MAX_PHOTOS ? '已达 5 张' : photos.length ? '再添加照片' : '添加照片';
  }

  function setPhotos(blobs) {
    photos.forEach(function (p) {
      URL.revokeObjectURL(p.url);
    });
    photos = blobs.map(function (b) {
      return { blob: b, url: URL.createObjectURL(b) };
    });
    renderPhotos();
  }

  // Files are taken in order until the report has MAX_PHOTOS: one that cannot be read leaves its place to
  // the next. Every problem is said at the end, together, so none hides another.
  async function addPhotos(files) {
    var list = Array.prototype.slice.call(files);
    var unreadable = 0;
    var left = 0;
    processing += 1;
    updateSubmit();
    try {
      for (var i = 0; i < list.length; i++) {
        if (photos.length >= MAX_PHOTOS) {
          left = list.length - i;
          break;
        }
        try {
          var blob = await compress(list[i]);
          photos.push({ blob: blob, url: URL.createObjectURL(blob) });
          renderPhotos();
        } catch (e) {
          unreadable += 1;
        }
      }
    } finally {
      processing -= 1;
      updateSubmit();
    }
    var problems = [];
    if (unreadable) problems.push('有 ' + unreadable + ' 个文件不是能读取的照片，已跳过');
    if (left) problems.push('最多只能附 ' + MAX_PHOTOS + ' 张照片，多出的 ' + left + ' 张没有加入');
    if (problems.length) formError(problems.join('；') + '。');
  }

  function setPosition(p) {
    position = p;
    if (p) {
      show($('geo-state'), '已获取位置（精度约 ' + p.accuracy + ' 米），将随举报一起发送。');
      show($('geo-clear'));
      $('geo-use').textContent = '重新定位';
    } else {
      hide($('geo-state'));
      hide($('geo-clear'));
      $('geo-use').textContent = '使用我的位置';
    }
  }

  function useLocation() {
    if (!navigator.geolocation) {
      show($('geo-state'), '这部手机的浏览器不能定位，请用文字写明地点。');
      return;
    }
    $('geo-use').disabled = true;
    show($('geo-state'), '正在定位…');
    navigator.geolocation.getCurrentPosition(
      function (pos) {
        $('geo-use').disabled = false;
        setPosition({
          lat: Math.round(pos.coords.latitude * 1e6) / 1e6,
          lng: Math.round(pos.coords.longitude * 1e6) / 1e6,
          accuracy: Math.round(pos.coords.accuracy || 0),
        });
      },
      function () {
        $('geo-use').disabled = false;
        position = null;
        show($('geo-state'), '没能获取位置（可能没有允许定位），请用文字写明地点。');
      },
      { enableHighAccuracy: true, timeout: 20000, maximumAge: 60000 }
    );
  }

  function formError(text) {
    if (text) show($('form-error'), text);
    else hide($('form-error'));
  }

  function updateSubmit() {
    var btn = $('submit');
    btn.disabled = processing > 0 || sending;
    btn.textContent = processing > 0 ? '正在处理照片…' : sending ? '正在发送…' : '提交举报';
  }

  function updateCount() {
    $('description-count').textContent = String($('description').value.length);
  }

  // An empty or wrong field says so under itself, and the first one gets the focus (a single message at
  // the bottom of a long form is out of sight on a phone).
  function fieldError(id, text) {
    var el = $(id + '-error');
    var input = $(id);
    if (text) {
      show(el, text);
      input.setAttribute('aria-invalid', 'true');
    } else {
      hide(el);
      input.removeAttribute('aria-invalid');
    }
  }

  function checkFields() {
    var problems = [];
    if (!$('category').value) problems.push(['category', '请选择举报类别。']);
    if (!$('description').value.trim()) problems.push(['description', '请写明发现了什么问题。']);
    fieldError('category', null);
    fieldError('description', null);
    problems.forEach(function (p) {
      fieldError(p[0], p[1]);
    });
    if (problems.length) $(problems[0][0]).focus();
    return problems.length === 0;
  }

  function resetForm() {
    fieldError('category', null);
    fieldError('description', null);
    $('report-form').reset();
    setPhotos([]);
    setPosition(null);
    updateCount();
    formError('');
  }

  function fillForm(d) {
    $('category').value = d.category;
    $('description').value = d.description;
    $('location_text').value = d.location_text || '';
    $('contact').value = d.contact || '';
    setPosition(d.lat != null ? { lat: d.lat, lng: d.lng, accuracy: d.accuracy || 0 } : null);
    setPhotos(d.photos || []);
    updateCount();
  }

  function loadCategories() {
    var select = $('category');
    hide($('category-retry'));
    return fetch(API + '/report-categories', FETCH_OPTS)
      .then(function (r) {
        if (!r.ok) throw new Error(String(r.status));
        return r.json();
      })
      .then(function (cats) {
        var keep = select.value;
        select.textContent = '';
        var first = document.createElement('option');
        first.value = '';
        first.textContent = '请选择';
        select.appendChild(first);
        // The everyday hazards first; the categories of the national reward rules (RPT-xx) after them.
        var groups = [
          { label: '常见隐患', el: null, test: function (c) { return !/^RPT-/.test(c.code); } },
          { label: '其他违法行为（安全生产举报奖励范围）', el: null, test: function (c) { return /^RPT-/.test(c.code); } },
        ];
        groups.forEach(function (g) {
          g.el = document.createElement('optgroup');
          g.el.label = g.label;
        });
        cats.forEach(function (c) {
          var o = document.createElement('option');
          o.value = c.code;
          o.textContent = c.name;
          (groups[0].test(c) ? groups[0] : groups[1]).el.appendChild(o);
        });
        groups.forEach(function (g) {
          if (g.el.children.length) select.appendChild(g.el);
        });
        select.value = keep;
      })
      .catch(function () {
        select.options[0].textContent = '类别加载失败';
        show($('category-retry'));
      });
  }

  async function onSubmit(ev) {
    ev.preventDefault();
    formError('');
    if (!checkFields()) return;
    var category = $('category').value;
    var description = $('description').value.trim();
    var draft = {
      draft_id: newId(),
      category: category,
      description: description,
      location_text: $('location_text').value.trim(),
      lat: position ? position.lat : null,
      lng: position ? position.lng : null,
      accuracy: position ? position.accuracy : null,
      contact: $('contact').value.trim(),
      photos: photos.map(function (p) {
        return p.blob;
      }),
      saved_at: Date.now(),
    };
    await store.put(draft);
    var outcome = await flush(draft.draft_id);
    if (outcome === 'sent' || outcome === 'pending') resetForm();
    if (outcome === 'pending') window.scrollTo(0, 0); // where the page says the report is kept
  }

  // ------------------------------------------------------------------ sending

  function sendOne(d) {
    var fd = new FormData();
    fd.append('draft_id', d.draft_id);
    fd.append('category', d.category);
    fd.append('description', d.description);
    if (d.location_text) fd.append('location_text', d.location_text);
    if (d.lat != null && d.lng != null) {
      fd.append('lat', String(d.lat));
      fd.append('lng', String(d.lng));
    }
    if (d.contact) fd.append('contact', d.contact);
    (d.photos || []).forEach(function (b, i) {
      fd.append('files', b, 'photo-' + (i + 1) + '.jpg');
    });
    var ctrl = typeof AbortController === 'function' ? new AbortController() : null;
    var timer = ctrl
      ? setTimeout(function () {
          ctrl.abort();
        }, SEND_TIMEOUT_MS)
      : null;
    var opts = Object.assign({ method: 'POST', body: fd }, FETCH_OPTS);
    if (ctrl) opts.signal = ctrl.signal;
    inflight = ctrl;
    return fetch(API + '/reports', opts)
      .then(function (r) {
        return r
          .json()
          .catch(function () {
            return {};
          })
          .then(function (body) {
            if (r.status === 200 || r.status === 201) return { kind: 'sent', receipt: body.receipt };
            if (r.status === 429) {
              var wait = parseInt(r.headers.get('Retry-After') || '60', 10);
              return { kind: 'later', wait: Math.max(wait, 1) * 1000, limited: true };
            }
            if (r.status >= 500 || r.status === 408) return { kind: 'later', wait: RETRY_MS };
            return { kind: 'refused', code: body.code, status: r.status };
          });
      })
      .catch(function () {
        return { kind: 'later', wait: RETRY_MS, offline: true };
      })
      .then(function (res) {
        if (timer) clearTimeout(timer);
        if (inflight === ctrl) inflight = null;
        return res;
      });
  }

  // Sends every saved draft; returns what became of `focusId` ('sent', 'pending' or 'refused').
  async function flush(focusId) {
    if (sending) {
      flushAgain = true;
      return 'pending';
    }
    sending = true;
    updateSubmit();
    var focus = 'pending';
    try {
      var drafts = await store.all();
      drafts.sort(function (a, b) {
        return a.saved_at - b.saved_at;
      });
      for (var i = 0; i < drafts.length; i++) {
        var d = drafts[i];
        if (navigator.onLine === false) break;
        if (d.retry_at && d.retry_at > Date.now() && d.draft_id !== focusId) continue;
        var res = await sendOne(d);
        if (res.kind === 'sent') {
          showReceipt(res.receipt);
          await store.remove(d.draft_id);
          if (d.draft_id === focusId) focus = 'sent';
        } else if (res.kind === 'refused') {
          await store.remove(d.draft_id);
          if (d.draft_id === focusId) focus = 'refused';
          else if (!formView.hidden) fillForm(d);
          formError(ERROR_TEXT[res.code] || '提交失败（' + res.status + '），请检查后重试。');
        } else if (res.offline) {
          if (navigator.onLine !== false && !networkTimer) {
            networkTimer = setTimeout(function () {
              networkTimer = null;
              flush();
            }, NETWORK_RETRY_MS);
          }
          break; // no network: the next `online` event, the timer above or a page load sends it
        } else {
          d.retry_at = Date.now() + res.wait; // the server asked to wait (429) or failed (5xx)
          d.limited = Boolean(res.limited);
          await store.put(d);
        }
      }
    } finally {
      sending = false;
      updateSubmit();
      await renderOutbox();
      if (flushAgain) {
        flushAgain = false;
        setTimeout(flush, 0);
      }
    }
    return focus;
  }

  async function renderOutbox() {
    var drafts = await store.all();
    var box = $('outbox');
    if (retryTimer) {
      clearTimeout(retryTimer);
      retryTimer = null;
    }
    if (!drafts.length) {
      hide(box);
      return;
    }
    var text = '有 ' + drafts.length + ' 条举报保存在这部手机上，还没有发出。';
    var limited = drafts.filter(function (d) {
      return d.limited && d.retry_at && d.retry_at > Date.now();
    });
    if (navigator.onLine !== false && limited.length) {
      var wait = Math.max.apply(null, limited.map(function (d) { return d.retry_at - Date.now(); }));
      text += '这部手机所在的网络提交太频繁，服务器要求稍等：约 ' + waitText(wait / 1000) + '后自动发送，';
      text += '发送成功后会显示回执码。';
    } else {
      text += navigator.onLine === false ? '现在没有网络，' : '网络不稳定，';
      text += '网络恢复后会自动发送，发送成功后会显示回执码。';
    }
    text += store.durable ? '也可以先关闭页面，下次打开本页时会继续发送。' : '请不要关闭此页面。';
    show(box, text);
    retryTimer = setTimeout(function () {
      flush();
    }, RETRY_MS);
  }

  // ------------------------------------------------------------------ the receipt, shown once

  function copyText(text, done) {
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () {
        legacyCopy(text, done);
      });
    } else {
      legacyCopy(text, done);
    }
  }

  function legacyCopy(text, done) {
    var ta = document.createElement('textarea');
    ta.value = text;
    ta.setAttribute('readonly', '');
    ta.className = 'offscreen';
    document.body.appendChild(ta);
    ta.select();
    var ok = false;
    try {
      ok = document.execCommand('copy');
    } catch (e) {
      ok = false;
    }
    document.body.removeChild(ta);
    done(ok);
  }

  function showReceipt(receipt) {
    var box = document.createElement('div');
    box.className = 'receipt-box';
    var code = document.createElement('p');
    code.className = 'receipt';
    code.textContent = receipt;
    code.setAttribute('data-receipt', receipt);
    var btn = document.createElement('button');
    btn.type = 'button';
    btn.className = 'secondary copy';
    btn.textContent = '复制回执码';
    var state = document.createElement('span');
    state.className = 'copy-state';
    state.setAttribute('role', 'status');
    btn.addEventListener('click', function () {
      copyText(receipt, function (ok) {
        state.textContent = ok === false ? '没能复制，请长按回执码手动复制或抄写。' : '已复制。请粘贴保存到安全的地方。';
      });
    });
    box.appendChild(code);
    box.appendChild(btn);
    box.appendChild(state);
    $('receipts').appendChild(box);
    hide(formView);
    show(receiptView);
    window.scrollTo(0, 0);
  }

  // The form is not cleared here: a report submitted from it was cleared when it was sent, and a receipt
  // may be that of a report saved earlier and sent while the next one is being typed.
  function newReport() {
    $('receipts').textContent = '';
    hide(receiptView);
    show(formView);
  }

  // ------------------------------------------------------------------ status lookup

  function normalizeReceipt(text) {
    return text
      .toUpperCase()
      .replace(/[^0-9A-Z]/g, '')
      .replace(/O/g, '0')
      .replace(/[IL]/g, '1');
  }

  function formatTime(iso) {
    try {
      return new Intl.DateTimeFormat('zh-CN', {
        timeZone: 'Asia/Shanghai',
        year: 'numeric',
        month: '2-digit',
        day: '2-digit',
        hour: '2-digit',
        minute: '2-digit',
        hour12: false,
      }).format(new Date(iso));
    } catch (e) {
      return iso;
    }
  }

  async function onStatus(ev) {
    ev.preventDefault();
    var err = $('status-error');
    hide(err);
    hide($('status-result'));
    var code = normalizeReceipt($('receipt-input').value);
    if (code.length !== 20) {
      show(err, '回执码是 20 位字母和数字（如 ABCDE-12345-FGHJK-67890），请核对。');
      return;
    }
    var btn = $('status-submit');
    btn.disabled = true;
    try {
      var r = await fetch(API + '/reports/' + encodeURIComponent(code), FETCH_OPTS);
      if (r.status === 200) {
        var body = await r.json();
        $('status-text').textContent = STATUS_TEXT[body.status] || body.status;
        $('status-updated').textContent = formatTime(body.updated_at);
        $('status-reply').textContent = body.reply || '（暂无答复）';
        show($('status-result'));
      } else if (r.status === 404) {
        show(err, '没有找到这个回执码。请核对后重试（注意 0 和 O、1 和 I 都按数字处理）。');
      } else if (r.status === 429) {
        show(err, '查询太频繁，请 ' + waitText(parseInt(r.headers.get('Retry-After') || '60', 10)) + '后再试。');
      } else {
        show(err, '查询失败（' + r.status + '），请稍后再试。');
      }
    } catch (e) {
      show(err, '网络不通，请联网后再查询。');
    } finally {
      btn.disabled = false;
    }
  }

  // ------------------------------------------------------------------ start

  function start() {
    formView = $('form-view');
    receiptView = $('receipt-view');
    var onStatusPage = /^\/report\/status\/?$/.test(location.pathname);
    $(onStatusPage ? 'nav-status' : 'nav-report').setAttribute('aria-current', 'page');
    if (onStatusPage) {
      document.title = '查询举报进度';
      show($('status-view'));
      $('status-form').addEventListener('submit', onStatus);
      // A report saved earlier may be sent while this page is open: its receipt shows here, and the
      // next report is written on the report page.
      $('new-report').addEventListener('click', function () {
        location.assign('/report');
      });
    } else {
      show(formView);
      loadCategories();
      $('category-retry').addEventListener('click', loadCategories);
      $('description').addEventListener('input', function () {
        updateCount();
        if ($('description').value.trim()) fieldError('description', null);
      });
      $('category').addEventListener('change', function () {
        if ($('category').value) fieldError('category', null);
      });
      $('photos-add').addEventListener('click', function () {
        $('photos').click();
      });
      $('geo-use').addEventListener('click', useLocation);
      $('geo-clear').addEventListener('click', function () {
        setPosition(null);
      });
      $('photos').addEventListener('change', function (ev) {
        var files = ev.target.files;
        addPhotos(files).then(function () {
          ev.target.value = '';
        });
      });
      $('report-form').addEventListener('submit', onSubmit);
      $('new-report').addEventListener('click', newReport);
    }
    // Drafts saved earlier (offline) are sent from either page, as soon as there is a network.
    window.addEventListener('online', function () {
      // Sending the same draft again is harmless: the server answers a draft it has with its receipt.
      if (inflight) inflight.abort();
      flush();
    });
    window.addEventListener('offline', function () {
      renderOutbox();
    });
    document.addEventListener('visibilitychange', function () {
      if (document.visibilityState === 'visible') flush();
    });
    flush();
    // The page's own service worker (scope /report): the page opens with no network after a first visit.
    if ('serviceWorker' in navigator) {
      navigator.serviceWorker.register('/report/sw.js', { scope: '/report' }).catch(function () {});
    }
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
