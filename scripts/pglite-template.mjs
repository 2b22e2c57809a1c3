// Run by `npm ci` / `npm install` (postinstall): prepares the embedded database template, so that
// the first start on a new data dir copies it instead of running initdb (5-6 s). Never fails the
// install: without a template, Gatehouse creates the database the slow way.
try {
  const { makeTemplate, templateDir } = await import('../src/storage/pglite-template.mjs');
  const started = performance.now();
  if (await makeTemplate())
    console.log(`gatehouse: embedded database template made in ${Math.round(performance.now() - started)} ms (${templateDir()})`);
} catch (err) {
  console.warn(
    `gatehouse: no embedded database template (${err instanceof Error ? err.message : String(err)}); a new data dir will be created with initdb`,
  );
}
