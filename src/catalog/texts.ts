// Localized titles and descriptions of the sample catalog, worded as Microsoft Update words them.
// Languages without a table fall back to English, as MU itself does for some content.

export const DEFAULT_LANGUAGES = ['en', 'de', 'fr', 'ja', 'pt-br', 'zh-cn'] as const;

type Table<P> = Readonly<Record<string, (p: P) => string>>;

export interface CuText {
  readonly ym: string;
  readonly os: string;
  readonly ver: string;
  readonly arch: string;
  readonly kb: number;
}

export const CU_TITLE: Table<CuText> = {
  en: (p) => `${p.ym} Cumulative Update for ${p.os} Version ${p.ver} for ${p.arch}-based Systems (KB${p.kb})`,
  de: (p) => `${p.ym} Kumulatives Update für ${p.os} Version ${p.ver} für ${p.arch}-basierte Systeme (KB${p.kb})`,
  fr: (p) => `${p.ym} Mise à jour cumulative pour ${p.os} Version ${p.ver} pour les systèmes ${p.arch} (KB${p.kb})`,
  ja: (p) => `${p.ym} ${p.arch} ベース システム用 ${p.os} Version ${p.ver} の累積更新プログラム (KB${p.kb})`,
  'pt-br': (p) => `${p.ym} Atualização Cumulativa para ${p.os} Versão ${p.ver} para sistemas baseados em ${p.arch} (KB${p.kb})`,
  'zh-cn': (p) => `${p.ym} 适用于基于 ${p.arch} 的系统的 ${p.os} 版本 ${p.ver} 累积更新 (KB${p.kb})`,
  es: (p) => `${p.ym} Actualización acumulativa para ${p.os} Version ${p.ver} para sistemas basados en ${p.arch} (KB${p.kb})`,
};

export const DOTNET_FX_TITLE: Table<CuText> = {
  en: (p) => `${p.ym} Cumulative Update for .NET Framework 3.5 and 4.8.1 for ${p.os} Version ${p.ver} for ${p.arch} (KB${p.kb})`,
  de: (p) => `${p.ym} Kumulatives Update für .NET Framework 3.5 und 4.8.1 für ${p.os} Version ${p.ver} für ${p.arch} (KB${p.kb})`,
  fr: (p) => `${p.ym} Mise à jour cumulative pour .NET Framework 3.5 et 4.8.1 pour ${p.os} Version ${p.ver} pour ${p.arch} (KB${p.kb})`,
  ja: (p) => `${p.ym} ${p.arch} 用 ${p.os} Version ${p.ver} の .NET Framework 3.5 および 4.8.1 の累積的な更新プログラム (KB${p.kb})`,
  'pt-br': (p) => `${p.ym} Atualização Cumulativa para .NET Framework 3.5 e 4.8.1 para ${p.os} Versão ${p.ver} para ${p.arch} (KB${p.kb})`,
  'zh-cn': (p) => `${p.ym} 适用于 ${p.arch} 的 ${p.os} 版本 ${p.ver} 的 .NET Framework 3.5 和 4.8.1 累积更新 (KB${p.kb})`,
};

export interface ProductText {
  readonly product: string;
}

/** The description MU gives cumulative and security updates, with the product named. */
export const FIX_DESCRIPTION: Table<ProductText> = {
  en: (p) =>
    `Install this update to resolve issues in ${p.product}. For a complete listing of the issues that are included in this update, see the associated Microsoft Knowledge Base article for more information. After you install this item, you may have to restart your computer.`,
  de: (p) =>
    `Installieren Sie dieses Update, um Probleme in ${p.product} zu beheben. Eine vollständige Liste der in diesem Update enthaltenen Probleme finden Sie im zugehörigen Microsoft Knowledge Base-Artikel. Nach der Installation dieses Elements müssen Sie den Computer möglicherweise neu starten.`,
  fr: (p) =>
    `Installez cette mise à jour pour résoudre des problèmes dans ${p.product}. Pour obtenir la liste complète des problèmes résolus par cette mise à jour, consultez l'article de la Base de connaissances Microsoft associé. Après avoir installé cet élément, vous devrez peut-être redémarrer l'ordinateur.`,
  ja: (p) =>
    `この更新プログラムをインストールすると、${p.product} の問題が解決されます。この更新プログラムに含まれる問題の一覧については、関連するサポート技術情報の記事を参照してください。このアイテムをインストールした後、コンピューターの再起動が必要になる場合があります。`,
  'pt-br': (p) =>
    `Instale esta atualização para resolver problemas no ${p.product}. Para obter uma lista completa dos problemas incluídos nesta atualização, consulte o artigo da Base de Dados de Conhecimento Microsoft associado. Depois de instalar este item, talvez seja necessário reiniciar o computador.`,
  'zh-cn': (p) => `安装此更新以解决 ${p.product} 中的问题。有关此更新中包含的问题的完整列表，请参阅相关的 Microsoft 知识库文章。安装此项目后，可能需要重新启动计算机。`,
  es: (p) =>
    `Instale esta actualización para resolver problemas de ${p.product}. Para obtener una lista completa de los problemas incluidos en esta actualización, consulte el artículo de Microsoft Knowledge Base asociado. Después de instalar este elemento, es posible que tenga que reiniciar el equipo.`,
};

export interface DefenderText {
  readonly version: string;
}

export const DEFENDER_TITLE: Table<DefenderText> = {
  en: (p) => `Security Intelligence Update for Microsoft Defender Antivirus - KB2267602 (Version ${p.version}) - Current Channel (Broad)`,
  de: (p) => `Security Intelligence-Update für Microsoft Defender Antivirus – KB2267602 (Version ${p.version}) – Aktueller Kanal (Allgemein)`,
  fr: (p) => `Mise à jour de la sélection disjointe pour Microsoft Defender Antivirus – 2267602 Ko (version ${p.version}) – Canal actuel (large)`,
  ja: (p) => `Microsoft Defender Antivirus のセキュリティ インテリジェンス更新プログラム - KB2267602 (バージョン ${p.version}) - 現在のチャネル (広範)`,
  'pt-br': (p) => `Atualização de inteligência de segurança para Microsoft Defender Antivirus - KB2267602 (versão ${p.version}) - Canal atual (amplo)`,
  'zh-cn': (p) => `Microsoft Defender Antivirus 的安全智能更新 - KB2267602（版本 ${p.version}）- 当前频道（广泛）`,
  es: (p) => `Actualización de inteligencia de seguridad para Microsoft Defender Antivirus - KB2267602 (versión ${p.version}) - Canal actual (ampliado)`,
};

export const DEFENDER_DESCRIPTION: Table<object> = {
  en: () =>
    'Install this update to revise the files that are used to detect viruses, spyware, and other potentially unwanted software. Once you have installed this item, it cannot be removed.',
  de: () =>
    'Installieren Sie dieses Update, um die Dateien zu überarbeiten, die zum Erkennen von Viren, Spyware und anderer potenziell unerwünschter Software verwendet werden. Nachdem Sie dieses Element installiert haben, kann es nicht mehr entfernt werden.',
  fr: () =>
    'Installer cette mise à jour pour réviser les fichiers utilisés pour détecter les virus, les espiogiciels et autres logiciels potentiellement indésirables. Une fois que vous avez installé cet élément, il ne peut pas être supprimé.',
  ja: () =>
    'この更新プログラムをインストールして、ウイルス、スパイウェア、およびその他の望ましくない可能性のあるソフトウェアを検出するために使用されるファイルを修正します。このアイテムを一度インストールすると、削除することはできません。',
  'pt-br': () =>
    'Instale esta atualização para revisar os arquivos usados para detectar vírus, spyware e outros softwares potencialmente indesejados. Depois de instalar este item, ele não poderá ser removido.',
  'zh-cn': () => '安装此更新可修改用于检测病毒、间谍软件和其他潜在不需要的软件的文件。此项一旦安装，便无法删除。',
  es: () =>
    'Instale esta actualización para revisar los archivos que se usan para detectar virus, spyware y otro software potencialmente no deseado. Una vez instalado, este elemento no se puede eliminar.',
};

export interface OfficeText {
  readonly product: string;
  readonly kb: number;
  readonly bits: number;
  readonly security: boolean;
}

export const OFFICE_TITLE: Table<OfficeText> = {
  en: (p) => `${p.security ? 'Security Update' : 'Update'} for ${p.product} (KB${p.kb}) ${p.bits}-Bit Edition`,
  de: (p) => `${p.security ? 'Sicherheitsupdate' : 'Update'} für ${p.product} (KB${p.kb}), ${p.bits}-Bit-Edition`,
  fr: (p) => `${p.security ? 'Mise à jour de sécurité' : 'Mise à jour'} pour ${p.product} (KB${p.kb}) Édition ${p.bits} bits`,
  ja: (p) => `${p.product} ${p.security ? 'セキュリティ更新プログラム' : '更新プログラム'} (KB${p.kb}) ${p.bits} ビット版`,
  'pt-br': (p) => `${p.security ? 'Atualização de Segurança' : 'Atualização'} para ${p.product} (KB${p.kb}) Edição de ${p.bits} bits`,
  'zh-cn': (p) => `${p.product} ${p.security ? '安全更新' : '更新'} (KB${p.kb}) ${p.bits} 位版本`,
};

export interface MsrtText {
  readonly arch: string;
  readonly version: string;
}

export const MSRT_TITLE: Table<MsrtText> = {
  en: (p) => `Windows Malicious Software Removal Tool ${p.arch} - v${p.version} (KB890830)`,
  de: (p) => `Windows-Tool zum Entfernen bösartiger Software ${p.arch} – v${p.version} (KB890830)`,
  fr: (p) => `Outil de suppression de logiciels malveillants Windows ${p.arch} - v${p.version} (KB890830)`,
  ja: (p) => `悪意のあるソフトウェアの削除ツール ${p.arch} - v${p.version} (KB890830)`,
  'pt-br': (p) => `Ferramenta de Remoção de Software Mal-Intencionado do Windows ${p.arch} - v${p.version} (KB890830)`,
  'zh-cn': (p) => `Windows 恶意软件删除工具 ${p.arch} - v${p.version} (KB890830)`,
};

export const MSRT_DESCRIPTION: Table<object> = {
  en: () =>
    'After the download, this tool runs one time to check your computer for infection by specific, prevalent malicious software (including Blaster, Sasser, and Mydoom) and helps remove any infection that is found. If an infection is found, the tool will display a status report the next time that you start your computer.',
  de: () =>
    'Nach dem Download wird dieses Tool einmal ausgeführt, um den Computer auf Infektionen durch bestimmte verbreitete bösartige Software zu überprüfen, und hilft beim Entfernen gefundener Infektionen.',
  fr: () =>
    "Après le téléchargement, cet outil s'exécute une fois pour vérifier si votre ordinateur est infecté par des logiciels malveillants courants et aide à supprimer toute infection détectée.",
};

export interface SimpleText {
  readonly title: string;
}

/** Titles with no per-language wording in MU: product names, versions, drivers. */
export const SAME_TITLE: Table<SimpleText> = { en: (p) => p.title };

export const CLASSIFICATION_TITLES_LOCALIZED: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  de: {
    'Critical Updates': 'Kritische Updates',
    'Security Updates': 'Sicherheitsupdates',
    'Definition Updates': 'Definitionsupdates',
    Updates: 'Updates',
    'Update Rollups': 'Updaterollups',
    'Service Packs': 'Service Packs',
    'Feature Packs': 'Feature Packs',
    Tools: 'Tools',
    Applications: 'Anwendungen',
    Connectors: 'Connectors',
    'Developer Kits': 'Entwicklungskits',
    Guidance: 'Leitfaden',
    Drivers: 'Treiber',
    Upgrades: 'Upgrades',
  },
  fr: {
    'Critical Updates': 'Mises à jour critiques',
    'Security Updates': 'Mises à jour de la sécurité',
    'Definition Updates': 'Mises à jour de définitions',
    Updates: 'Mises à jour',
    'Update Rollups': 'Correctifs cumulatifs',
    'Service Packs': 'Service Packs',
    'Feature Packs': 'Feature Packs',
    Tools: 'Outils',
    Applications: 'Applications',
    Connectors: 'Connecteurs',
    'Developer Kits': 'Kits de développement',
    Guidance: 'Conseils',
    Drivers: 'Pilotes',
    Upgrades: 'Mises à niveau',
  },
  ja: {
    'Critical Updates': '重要な更新',
    'Security Updates': 'セキュリティ更新プログラム',
    'Definition Updates': '定義更新',
    Updates: '更新',
    'Update Rollups': '更新プログラムのロールアップ',
    'Service Packs': 'サービス パック',
    'Feature Packs': '機能パック',
    Tools: 'ツール',
    Applications: 'アプリケーション',
    Connectors: 'コネクタ',
    'Developer Kits': '開発キット',
    Guidance: 'ガイダンス',
    Drivers: 'ドライバー',
    Upgrades: 'アップグレード',
  },
  'pt-br': {
    'Critical Updates': 'Atualizações Críticas',
    'Security Updates': 'Atualizações de Segurança',
    'Definition Updates': 'Atualizações de Definição',
    Updates: 'Atualizações',
    'Update Rollups': 'Pacotes Cumulativos de Atualizações',
    'Service Packs': 'Service Packs',
    'Feature Packs': 'Feature Packs',
    Tools: 'Ferramentas',
    Applications: 'Aplicativos',
    Connectors: 'Conectores',
    'Developer Kits': 'Kits de Desenvolvedor',
    Guidance: 'Orientação',
    Drivers: 'Drivers',
    Upgrades: 'Atualizações de versão',
  },
  'zh-cn': {
    'Critical Updates': '关键更新',
    'Security Updates': '安全更新',
    'Definition Updates': '定义更新',
    Updates: '更新',
    'Update Rollups': '更新汇总',
    'Service Packs': 'Service Pack',
    'Feature Packs': '功能包',
    Tools: '工具',
    Applications: '应用程序',
    Connectors: '连接器',
    'Developer Kits': '开发工具包',
    Guidance: '指南',
    Drivers: '驱动程序',
    Upgrades: '升级',
  },
};

/** Renders `table` in `language`, falling back to English. */
export function say<P>(table: Table<P>, language: string, params: P): string {
  const f = table[language] ?? table.en;
  if (f === undefined) throw new Error('text table without English');
  return f(params);
}
