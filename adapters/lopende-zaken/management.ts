import { ok, type OperationHandlers, type RuntimeSettings } from '../../gateway/adapter-kit/index.ts';
import { RUNTIME_DEFAULTS, type RuntimeSettingsValue } from './settings.ts';

/** Run-time settings an admin changes without a restart: the send interval and the alert age. */
export async function readRuntimeSettings(runtime: RuntimeSettings): Promise<RuntimeSettingsValue> {
  return {
    intervalMs: (await runtime.get<number>('intervalMs')) ?? RUNTIME_DEFAULTS.intervalMs,
    alertAfterMs: (await runtime.get<number>('alertAfterMs')) ?? RUNTIME_DEFAULTS.alertAfterMs,
  };
}

export function createManagement(runtime: RuntimeSettings): OperationHandlers {
  return {
    'lopende-zaken.getSettings': async () => ok(await readRuntimeSettings(runtime)),
    'lopende-zaken.putSettings': async (request) => {
      const body = request.body as Partial<RuntimeSettingsValue>;
      if (body.intervalMs !== undefined) await runtime.set('intervalMs', body.intervalMs);
      if (body.alertAfterMs !== undefined) await runtime.set('alertAfterMs', body.alertAfterMs);
      return ok(await readRuntimeSettings(runtime));
    },
  };
}
