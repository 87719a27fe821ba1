// docs_swagger.js URL CHROMIUM — for tests/test_docs_swagger.sh (NODE_PATH: the tests' npm
// packages). Checks a running `vkbridge serve --docs-assets swagger-ui-dist`:
// 1. /openapi.json validates as OpenAPI 3 (@seriousme/openapi-schema-validator) and its
//    $refs resolve;
// 2. headless Chromium (the system's, driven by puppeteer-core) renders /docs: Swagger UI
//    lists every operation of /openapi.json, with every file from the service (no CDN);
// 3. "Try it out" on POST /embed with two texts: 200 and two vectors in the page.
// Prints what it saw and "N passed, N failed"; exits 1 on a failure.
const puppeteer = require('puppeteer-core');
const [url, chromium] = process.argv.slice(2);
let passed = 0, failed = 0;
const check = (ok, what) => { if (ok) passed++; else { failed++; console.log('FAIL', what); } };

async function main() {
  const spec = await (await fetch(url + '/openapi.json')).json();
  // an ES module: import() ignores NODE_PATH, so find it the CommonJS way first
  const validatorPath = require.resolve('@seriousme/openapi-schema-validator');
  const { Validator } = await import(require('url').pathToFileURL(validatorPath).href);
  const validator = new Validator();
  const res = await validator.validate(spec);
  check(res.valid, `/openapi.json is valid OpenAPI: ${JSON.stringify(res.errors)?.slice(0, 800)}`);
  check(validator.version && validator.version.startsWith('3.'), `OpenAPI 3 (${validator.version})`);
  if (res.valid) check(typeof validator.resolveRefs() === 'object', '$refs resolve');
  console.log(`/openapi.json: OpenAPI ${validator.version}, valid: ${res.valid}`);
  const ops = [];
  for (const [p, item] of Object.entries(spec.paths))
    for (const m of Object.keys(item))
      if (['get', 'post', 'put', 'delete', 'patch'].includes(m)) ops.push(`${m.toUpperCase()} ${p}`);

  const browser = await puppeteer.launch({
    executablePath: chromium, headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run'],
  });
  try {
    const page = await browser.newPage();
    const fetched = [];
    const pageErrors = [];
    page.on('request', (r) => fetched.push(r.url()));
    page.on('pageerror', (e) => pageErrors.push(String(e)));
    const resp = await page.goto(url + '/docs', { waitUntil: 'networkidle0', timeout: 60000 });
    check(resp.status() === 200, `/docs: ${resp.status()}`);
    await page.waitForSelector('.opblock', { timeout: 30000 });
    const title = await page.$eval('.info .title', (e) => e.textContent).catch(() => '');
    check(title.includes(spec.info.title), `the page shows the API title (${title})`);
    const listed = await page.$$eval('.opblock', (els) => els.map((e) =>
      `${e.querySelector('.opblock-summary-method').textContent.trim()} ${e.querySelector('.opblock-summary-path').getAttribute('data-path')}`));
    console.log(`Swagger UI lists ${listed.length} operations: ${listed.join(', ')}`);
    for (const op of ops) check(listed.includes(op), `Swagger UI lists ${op}`);
    check(listed.length === ops.length, `as many operations as /openapi.json (${listed.length} vs ${ops.length})`);
    const foreign = fetched.filter((u) => !u.startsWith(url) && !u.startsWith('data:'));
    check(foreign.length === 0, `every file came from the service (--docs-assets), none from a CDN: ${foreign}`);
    check(fetched.some((u) => u.endsWith('/docs/swagger-ui-bundle.js')), 'the bundle came from /docs/swagger-ui-bundle.js');
    check(pageErrors.length === 0, `no script errors: ${pageErrors}`);

    // Try it out: POST /embed
    const block = await page.evaluateHandle(() => [...document.querySelectorAll('.opblock')].find((e) =>
      e.querySelector('.opblock-summary-method').textContent.trim() === 'POST' &&
      e.querySelector('.opblock-summary-path').getAttribute('data-path') === '/embed'));
    await (await block.$('.opblock-summary-control, .opblock-summary')).click();
    await page.waitForSelector('.opblock.is-open .try-out__btn', { timeout: 10000 });
    await (await block.$('.try-out__btn')).click();
    const area = await block.waitForSelector('textarea.body-param__text', { timeout: 10000 });
    await area.click();
    await page.keyboard.down('Control');
    await page.keyboard.press('A');
    await page.keyboard.up('Control');
    await page.keyboard.press('Backspace');
    await area.type('{"texts": ["hello from swagger ui", "a second text"]}');
    await (await block.$('.btn.execute')).click();
    await block.waitForSelector('.live-responses-table tr.response .response-col_status', { timeout: 30000 });
    const status = await block.$eval('.live-responses-table tr.response .response-col_status', (e) => e.textContent.trim());
    const bodyText = await block.$eval('.live-responses-table .response-col_description pre, .live-responses-table .microlight',
      (e) => e.textContent);
    let body = {};
    try { body = JSON.parse(bodyText); } catch { /* checked below */ }
    const dims = (body.embeddings || []).map((v) => v.length);
    console.log(`Try it out POST /embed: ${status}, ${dims.length} vectors of ${dims.join(', ')} numbers, model ${body.model}`);
    check(status.startsWith('200'), `try it out answered 200 (${status})`);
    check(dims.length === 2 && dims.every((d) => d === body.dimensions && d > 0) &&
          body.embeddings.flat().every(Number.isFinite), 'two vectors of the model\'s dimension, finite numbers');
    const direct = await (await fetch(url + '/embed', { method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ texts: ['hello from swagger ui', 'a second text'] }) })).json();
    check(JSON.stringify(direct.embeddings) === JSON.stringify(body.embeddings),
      'the vectors are those of the texts typed into the page (same as a direct POST /embed)');
  } finally {
    await browser.close();
  }
}
main().then(() => {
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}, (e) => { console.log('FAIL', e && e.stack || e); console.log(`${passed} passed, ${failed + 1} failed`); process.exit(1); });
