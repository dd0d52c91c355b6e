/** The local provider's public API (see ./README.md). */
export {
  startLocalProvider,
  DEMO_CONSUMER,
  DEMO_USER,
  type LocalProvider,
  type LocalProviderOptions,
  type Consumer,
  type ProviderUser,
  type EndpointStats,
  type EndpointName,
  type Faults,
  type FaultSettings,
} from './provider.js';
