import { describeBackend } from '../helpers/backends.ts';
import { dispatchSuite } from './dispatch-suite.ts';

describeBackend('sqlite-embedded', 'dispatch', dispatchSuite);
