// S3Plugin for Proxmox VE: "Datacenter > Storage > Add > S3".
// Loaded after pvemanagerlib.js (the package adds the script tag to index.html.tpl), so the
// storage type can be registered in PVE.Utils.storageSchema before the storage view is built.
Ext.define('PVE.storage.S3InputPanel', {
    extend: 'PVE.panel.StorageBase',

    onGetValues: function(values) {
	let me = this;
	if (!me.isCreate) {
	    // empty credential fields mean "unchanged" when editing
	    ['access-key', 'secret-key'].forEach(k => {
		if (!values[k]) { delete values[k]; }
	    });
	}
	return me.callParent([values]);
    },

    initComponent: function() {
	let me = this;
	let credentialEmpty = me.isCreate ? '' : gettext('Unchanged');

	me.column1 = [
	    {
		xtype: me.isCreate ? 'textfield' : 'displayfield',
		name: 'endpoint',
		fieldLabel: gettext('Endpoint'),
		emptyText: 's3.example.com',
		allowBlank: false,
	    },
	    {
		xtype: 'proxmoxintegerfield',
		name: 'port',
		fieldLabel: gettext('Port'),
		minValue: 1,
		maxValue: 65535,
		emptyText: gettext('Default'),
		deleteEmpty: !me.isCreate,
	    },
	    {
		xtype: me.isCreate ? 'textfield' : 'displayfield',
		name: 'bucket',
		fieldLabel: gettext('Bucket'),
		allowBlank: false,
	    },
	    {
		xtype: 'proxmoxtextfield',
		name: 'region',
		fieldLabel: gettext('Region'),
		emptyText: 'us-east-1',
		deleteEmpty: !me.isCreate,
	    },
	    {
		xtype: me.isCreate ? 'textfield' : 'displayfield',
		name: 'prefix',
		fieldLabel: gettext('Prefix'),
		emptyText: gettext('none'),
	    },
	    {
		xtype: 'pveContentTypeSelector',
		cts: ['backup', 'iso', 'vztmpl', 'snippets', 'import'],
		fieldLabel: gettext('Content'),
		name: 'content',
		value: ['backup', 'iso', 'vztmpl'],
		multiSelect: true,
		allowBlank: false,
	    },
	];

	me.column2 = [
	    {
		xtype: 'textfield',
		name: 'access-key',
		fieldLabel: gettext('Access Key'),
		allowBlank: !me.isCreate,
		emptyText: credentialEmpty,
	    },
	    {
		xtype: 'textfield',
		inputType: 'password',
		name: 'secret-key',
		fieldLabel: gettext('Secret Key'),
		allowBlank: !me.isCreate,
		emptyText: credentialEmpty,
	    },
	    {
		xtype: 'proxmoxcheckbox',
		name: 'use-ssl',
		fieldLabel: 'HTTPS',
		checked: true,
		uncheckedValue: 0,
	    },
	    {
		xtype: 'proxmoxcheckbox',
		name: 'path-style',
		fieldLabel: gettext('Path-style URLs'),
		checked: true,
		uncheckedValue: 0,
	    },
	    {
		xtype: 'proxmoxtextfield',
		name: 'fingerprint',
		fieldLabel: gettext('Fingerprint'),
		emptyText: gettext('Server certificate SHA-256 fingerprint, if not trusted'),
		deleteEmpty: !me.isCreate,
	    },
	    {
		xtype: 'proxmoxtextfield',
		name: 'ca-file',
		fieldLabel: gettext('CA file'),
		emptyText: gettext('System CA store'),
		deleteEmpty: !me.isCreate,
	    },
	];

	me.advancedColumn1 = [
	    {
		xtype: 'proxmoxtextfield',
		name: 'path',
		fieldLabel: gettext('Cache directory'),
		emptyText: '/var/lib/pve-s3plugin/cache/<storage>',
		deleteEmpty: !me.isCreate,
	    },
	    {
		xtype: 'proxmoxintegerfield',
		name: 'cache-max-size',
		fieldLabel: gettext('Cache limit (MiB)'),
		minValue: 0,
		emptyText: gettext('No limit'),
		deleteEmpty: !me.isCreate,
	    },
	    {
		xtype: 'proxmoxintegerfield',
		name: 'cache-max-age',
		fieldLabel: gettext('Cache max age (h)'),
		minValue: 0,
		emptyText: gettext('No limit'),
		deleteEmpty: !me.isCreate,
	    },
	];
	me.advancedColumn2 = [
	    {
		xtype: 'proxmoxintegerfield',
		name: 'multipart-part-size',
		fieldLabel: gettext('Part size (MiB)'),
		minValue: 5,
		maxValue: 5120,
		emptyText: '64',
		deleteEmpty: !me.isCreate,
	    },
	    {
		xtype: 'proxmoxintegerfield',
		name: 'multipart-concurrency',
		fieldLabel: gettext('Parallel parts'),
		minValue: 1,
		maxValue: 32,
		emptyText: '4',
		deleteEmpty: !me.isCreate,
	    },
	    {
		xtype: 'proxmoxintegerfield',
		name: 'transfer-bwlimit',
		fieldLabel: gettext('Bandwidth limit (KiB/s)'),
		minValue: 1,
		emptyText: gettext('No limit'),
		deleteEmpty: !me.isCreate,
	    },
	    {
		xtype: 'proxmoxtextfield',
		name: 'storage-class',
		fieldLabel: gettext('Storage class'),
		emptyText: 'STANDARD',
		deleteEmpty: !me.isCreate,
	    },
	];

	me.callParent();
    },
});

PVE.Utils.storageSchema.s3 = {
    name: 'S3',
    ipanel: 'S3InputPanel',
    faIcon: 'cloud-upload',
    backups: true,
};
