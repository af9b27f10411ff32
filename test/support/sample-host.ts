/**
 * The local host with the self-check sample mounted beside the app's functions, for tests that kill and
 * restart a real host process. Same options as `npm start`.
 */
import { runLocalHost } from '../../src/local/main';
import { selfCheckFunctions } from './self-check.functions';

void runLocalHost(process.argv.slice(2), selfCheckFunctions());
