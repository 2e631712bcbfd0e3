// The configuration subsystem's public face: load once at start-up, then pass slices to each subsystem.
export type {
  Config,
  DeliveryConfig,
  DnsConfig,
  LogConfig,
  LogLevel,
  PanelConfig,
  PanelDriver,
  PortName,
  PortsConfig,
  QueueConfig,
  SmtpConfig,
} from './schema.js';
export { LOG_LEVELS, PANEL_DRIVERS, PORT_NAMES } from './schema.js';
export { applianceDefaults, developmentDefaults } from './defaults.js';
export { buildConfig, loadConfig, SYSTEM_CONFIG_FILE, type LoadConfigOptions } from './load.js';
export { validateConfig } from './validate.js';
export { parseDnsServer, type DnsServer } from './dns-server.js';
export { prepareDataDir } from './data-dir.js';
