import assert from 'node:assert/strict';
import { adapters } from '../../../adapters/index.ts';
import { openApiBackend } from '../../../gateway/http/app.ts';
import { mergedOpenApiDocument } from '../../../gateway/openapi-document.ts';

/**
 * The gateway starts openapi-backend in quick mode (no check of the document, validators compiled on
 * first use), which saves about 90 MB of start-up garbage. What quick mode skips is checked here,
 * for the document with every adapter in it: the document against the OpenAPI 3.0 schema, and
 * every operation's request and response validators compiled.
 */
describe('the merged OpenAPI document', () => {
  it('is a valid OpenAPI 3.0 document whose every validator compiles', async function () {
    this.timeout(60_000);
    // The gateway's own configuration, except that everything quick mode defers is done now.
    const api = openApiBackend(mergedOpenApiDocument(adapters.map((a) => a.name)), { quick: false });
    await api.init();
    const operations = api.router.getOperations();
    assert.ok(operations.length > 40, `only ${operations.length} operations`);
    for (const operation of operations) {
      assert.ok(
        operation.operationId,
        `${operation.method.toUpperCase()} ${operation.path} has no operationId`,
      );
      assert.ok(
        api.validator.requestValidators[operation.operationId],
        `no validator for ${operation.operationId}`,
      );
    }
  });

  it('fails loudly when a document is broken, which quick mode would not', async () => {
    const document = mergedOpenApiDocument([]);
    (document.paths['/v1/messages'] as Record<string, unknown>).post = { responses: 'not an object' };
    const api = openApiBackend(document, { quick: false });
    await assert.rejects(api.init());
  });
});
