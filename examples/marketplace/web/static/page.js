/* Seller page behaviour. SSR pages arrive with the rating UI already decided and rendered,
 * so only the "Rate this seller" form needs wiring. Static pages decide in the browser from
 * flag.json (written at deploy time) with the same sticky bucketing as the server. */
(function (root) {
  'use strict';
  if (typeof document === 'undefined') return; // loaded by node in tests: bucketing only

  var B = root.MarketplaceBucketing;
  var TOKEN_KEY = 'marketplace.token';

  function token() {
    try { return root.localStorage.getItem(TOKEN_KEY) || ''; } catch (e) { return ''; }
  }

  function subFromToken(jwt) {
    try {
      var part = jwt.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
      return String(JSON.parse(root.atob(part)).sub || '');
    } catch (e) { return ''; }
  }

  function apiFetch(base, path, options) {
    options = options || {};
    options.headers = Object.assign({ 'Authorization': 'Bearer ' + token() }, options.headers || {});
    return root.fetch(base + path, options).then(function (res) {
      return res.json().catch(function () { return {}; }).then(function (body) {
        return { status: res.status, body: body };
      });
    });
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function stars(n) { return '\u2605'.repeat(n) + '\u2606'.repeat(5 - n); }

  function renderBadge(section, seller) {
    var badge = el('div', 'rating-badge');
    if (!seller.totalRatings) {
      badge.className += ' new-seller';
      badge.textContent = 'New Seller';
    } else {
      badge.appendChild(el('span', 'stars', '\u2605'));
      badge.appendChild(el('span', 'average', ' ' + seller.averageRating.toFixed(2) + ' '));
      badge.appendChild(el('span', 'count', '(' + seller.totalRatings + (seller.totalRatings === 1 ? ' rating)' : ' ratings)')));
    }
    section.insertBefore(badge, section.firstChild);
  }

  function renderList(list, ratings) {
    list.textContent = '';
    if (!ratings.length) { list.appendChild(el('li', 'empty', 'No ratings yet.')); return; }
    ratings.forEach(function (r) {
      var item = el('li', 'rating');
      item.appendChild(el('span', 'value', stars(r.rating) + ' '));
      item.appendChild(el('span', 'rater', r.raterName + ' '));
      item.appendChild(el('time', '', (r.createdAt || '').slice(0, 10)));
      if (r.comment) item.appendChild(el('p', 'comment', r.comment));
      list.appendChild(item);
    });
  }

  function wireForm(form, apiBase) {
    var status = form.querySelector('.rate-status');
    form.addEventListener('submit', function (event) {
      event.preventDefault();
      if (!token()) { status.textContent = 'Sign in to rate this seller.'; return; }
      var payload = {
        sellerId: Number(form.getAttribute('data-rate-seller')),
        rating: Number(form.elements.rating.value),
        comment: form.elements.comment.value || null
      };
      apiFetch(apiBase, '/api/v1/ratings', {
        method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(payload)
      }).then(function (res) {
        status.textContent = res.status === 201 ? 'Thanks for your rating!' : (res.body.message || 'Could not save your rating.');
      }, function () { status.textContent = 'The rating service cannot be reached.'; });
    });
  }

  function staticSellerPage(main) {
    var params = new URLSearchParams(root.location.search);
    var sellerId = params.get('id') || '';
    var user = params.get('user') || subFromToken(token());
    var section = main.querySelector('.ratings');
    main.setAttribute('data-seller-id', sellerId);
    root.fetch('flag.json', { cache: 'no-store' })
      .then(function (res) { return res.ok ? res.json() : null; })
      .catch(function () { return null; })
      .then(function (flag) {
        var on = !!flag && B.featureOn(flag, user);
        main.setAttribute('data-rating-feature', on ? 'on' : 'off');
        if (!on) return;
        var apiBase = flag.apiBaseUrl || '';
        section.hidden = false;
        section.querySelector('.rate-form').setAttribute('data-rate-seller', sellerId);
        wireForm(section.querySelector('.rate-form'), apiBase);
        if (!token()) { renderList(section.querySelector('.rating-list'), []); return; }
        return apiFetch(apiBase, '/api/v1/ratings/seller/' + encodeURIComponent(sellerId)).then(function (res) {
          if (res.status !== 200) { section.querySelector('.rating-list').textContent = res.body.message || 'Ratings unavailable.'; return; }
          main.querySelector('.seller-name').textContent = res.body.seller.sellerName;
          renderBadge(section, res.body.seller);
          renderList(section.querySelector('.rating-list'), res.body.ratings);
        });
      });
  }

  document.addEventListener('DOMContentLoaded', function () {
    var main = document.querySelector('main.seller-page');
    if (!main) return;
    if (document.body.getAttribute('data-mode') === 'static') { staticSellerPage(main); return; }
    var form = main.querySelector('.rate-form');
    if (form) wireForm(form, main.getAttribute('data-api-base') || '');
  });
})(typeof globalThis !== 'undefined' ? globalThis : this);
