/* Hand-drawn SVG bar charts for the usage tab. Each chart is drawn at the container's real pixel
   width (no viewBox scaling, so text stays readable on phones) and redrawn when the window resizes. */
(function () {
  'use strict';
  const { svg, h, clear, formatNumber, t } = GC;

  const drawn = new Map(); // container -> redraw function

  // Charts drawn inside a hidden tab got a guessed width; the page calls this when the tab shows.
  function redrawAll() {
    for (const [container, redraw] of drawn) {
      if (container.isConnected) redraw();
      else drawn.delete(container);
    }
  }

  let resizeTimer = 0;
  window.addEventListener('resize', () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(redrawAll, 150);
  });

  function widthOf(container) {
    return Math.max(240, Math.floor(container.clientWidth || container.getBoundingClientRect().width || 600));
  }

  // SVG text cannot wrap; long labels are shortened and the full text goes into the <title> tooltip.
  function fitText(text, maxPx, charPx) {
    const max = Math.max(4, Math.floor(maxPx / (charPx || 6.4)));
    return text.length > max ? text.slice(0, max - 1) + '\u2026' : text;
  }

  function niceMax(value) {
    if (value <= 0) return 1;
    const exp = Math.pow(10, Math.floor(Math.log10(value)));
    for (const step of [1, 2, 2.5, 5, 10]) {
      if (value <= step * exp) return step * exp;
    }
    return 10 * exp;
  }

  function empty(container, message) {
    clear(container).appendChild(h('div', { class: 'chart-empty' }, message || t('chart.noData')));
  }

  /** Vertical bars, e.g. calls per day. points: [{label, value}] in display order. */
  function columns(container, points, options) {
    const opts = options || {};
    const draw = () => {
      if (!points.length || points.every((p) => !p.value)) {
        empty(container, opts.emptyText);
        return;
      }
      const width = widthOf(container);
      const height = 220;
      const left = 44;
      const right = 8;
      const top = 18;
      const bottom = 40;
      const plotW = width - left - right;
      const plotH = height - top - bottom;
      const max = niceMax(Math.max(...points.map((p) => Number(p.value) || 0)));
      const slot = plotW / points.length;
      const barW = Math.max(2, Math.min(42, slot * 0.7));
      // Label every n-th column so labels never overlap (about 44 px per label).
      const every = Math.max(1, Math.ceil(44 / slot));
      const root = svg('svg', { width, height, role: 'img', 'aria-label': opts.title || t('chart.bar') });
      if (opts.title) root.appendChild(svg('title', null, opts.title));
      for (let i = 0; i <= 4; i++) {
        const y = top + plotH - (plotH * i) / 4;
        root.appendChild(svg('line', { class: i === 0 ? 'axis' : 'grid', x1: left, x2: width - right, y1: y, y2: y }));
        root.appendChild(svg('text', { x: left - 6, y: y + 4, 'text-anchor': 'end' }, formatNumber((max * i) / 4)));
      }
      points.forEach((p, i) => {
        const value = Number(p.value) || 0;
        const barH = (plotH * value) / max;
        const x = left + slot * i + (slot - barW) / 2;
        const y = top + plotH - barH;
        const rect = svg('rect', { class: 'bar-rect', x, y, width: barW, height: Math.max(0, barH), rx: 2 });
        rect.appendChild(svg('title', null, p.label + ': ' + formatNumber(value)));
        root.appendChild(rect);
        if (slot >= 26 && value > 0) {
          root.appendChild(svg('text', { class: 'value', x: x + barW / 2, y: y - 4, 'text-anchor': 'middle' }, formatNumber(value)));
        }
        if (i % every === 0) {
          root.appendChild(svg('text', { x: x + barW / 2, y: height - bottom + 16, 'text-anchor': 'middle' },
            fitText(p.short || p.label, slot * every - 4)));
        }
      });
      clear(container).appendChild(root);
    };
    drawn.set(container, draw);
    draw();
  }

  /**
   * Horizontal bars with the label on its own line, e.g. calls per model.
   * items: [{label, value, max?, cls?, text?}]; options.max fixes a common scale (100 for percentages).
   */
  function hbars(container, items, options) {
    const opts = options || {};
    const draw = () => {
      if (!items.length) {
        empty(container, opts.emptyText);
        return;
      }
      const width = widthOf(container);
      const rowH = 38;
      const barH = 12;
      const texts = items.map((it) => it.text || formatNumber(Number(it.value) || 0));
      const valueW = Math.min(width / 2, 12 + 7 * Math.max(...texts.map((t) => t.length)));
      const height = items.length * rowH + 4;
      const max = opts.max || niceMax(Math.max(...items.map((it) => Number(it.value) || 0)));
      const trackW = width - valueW - 4;
      const root = svg('svg', { width, height, role: 'img', 'aria-label': opts.title || t('chart.bar') });
      if (opts.title) root.appendChild(svg('title', null, opts.title));
      items.forEach((it, i) => {
        const y = i * rowH;
        const value = Number(it.value) || 0;
        const label = svg('text', { x: 0, y: y + 13 }, fitText(String(it.label), width - 8));
        label.appendChild(svg('title', null, String(it.label)));
        root.appendChild(label);
        root.appendChild(svg('rect', { class: 'track', x: 0, y: y + 19, width: trackW, height: barH, rx: 3 }));
        const bar = svg('rect', {
          class: 'bar-rect' + (it.cls ? ' ' + it.cls : ''), x: 0, y: y + 19,
          width: Math.max(0, Math.min(1, value / max) * trackW), height: barH, rx: 3,
        });
        bar.appendChild(svg('title', null, it.label + ': ' + texts[i]));
        root.appendChild(bar);
        root.appendChild(svg('text', { class: 'value', x: width - 2, y: y + 29, 'text-anchor': 'end' }, texts[i]));
      });
      clear(container).appendChild(root);
    };
    drawn.set(container, draw);
    draw();
  }

  /** One stacked bar: successes vs failures, with the rate written above it. */
  function split(container, ok, fail, options) {
    const opts = options || {};
    const draw = () => {
      const good = Number(ok) || 0;
      const bad = Number(fail) || 0;
      const total = good + bad;
      if (!total) {
        empty(container, opts.emptyText || t('usage.noCalls'));
        return;
      }
      const width = widthOf(container);
      const height = 58;
      const okW = (good / total) * width;
      const rate = ((good / total) * 100).toFixed(1) + '%';
      const title = t('chart.successRate', { rate });
      const root = svg('svg', { width, height, role: 'img', 'aria-label': title });
      root.appendChild(svg('text', { class: 'value', x: 0, y: 14 }, title));
      root.appendChild(svg('text', { x: width, y: 14, 'text-anchor': 'end' },
        t('chart.okFailed', { ok: formatNumber(good), failed: formatNumber(bad) })));
      const okRect = svg('rect', { class: 'bar-rect ok', x: 0, y: 24, width: okW, height: 22 });
      okRect.appendChild(svg('title', null, t('chart.succeeded', { n: formatNumber(good) })));
      const badRect = svg('rect', { class: 'bar-rect danger', x: okW, y: 24, width: width - okW, height: 22 });
      badRect.appendChild(svg('title', null, t('chart.failed', { n: formatNumber(bad) })));
      root.appendChild(okRect);
      root.appendChild(badRect);
      clear(container).appendChild(root);
    };
    drawn.set(container, draw);
    draw();
  }

  GC.charts = { columns, hbars, split, redrawAll };
})();
