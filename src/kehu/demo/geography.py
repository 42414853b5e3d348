"""Where the customers are: provinces, cities and districts, each of a kind (urban to county)."""

from __future__ import annotations

import pandas as pd

# --- geography: province -> city -> districts ("*" outer district, "县"/"市" county level) ---
GEOGRAPHY = {
    "浙江省": {
        "杭州市": "西湖区 拱墅区 上城区 余杭区* 萧山区* 临安区* 桐庐县 淳安县",
        "宁波市": "海曙区 鄞州区 北仑区* 慈溪市 余姚市 象山县",
        "温州市": "鹿城区 龙湾区* 瑞安市 乐清市 苍南县",
        "金华市": "婺城区 金东区* 义乌市 东阳市 浦江县",
    },
    "江苏省": {
        "南京市": "玄武区 鼓楼区 秦淮区 江宁区* 溧水区* 高淳区*",
        "苏州市": "姑苏区 吴中区* 相城区* 昆山市 常熟市",
        "徐州市": "云龙区 铜山区* 沛县 睢宁县 邳州市",
    },
    "上海市": {"上海市": "浦东新区 闵行区 徐汇区 静安区 松江区* 嘉定区* 崇明区*"},
    "山东省": {
        "济南市": "历下区 市中区 章丘区* 平阴县 商河县",
        "青岛市": "市南区 李沧区 黄岛区* 胶州市 平度市",
        "临沂市": "兰山区 河东区* 沂水县 郯城县 费县",
    },
    "广东省": {
        "广州市": "天河区 越秀区 海珠区 番禺区* 花都区* 从化区*",
        "深圳市": "福田区 南山区 罗湖区 宝安区* 龙岗区*",
        "佛山市": "禅城区 南海区* 顺德区* 高明区*",
        "湛江市": "赤坎区 霞山区 雷州市 徐闻县 遂溪县",
    },
    "广西壮族自治区": {
        "南宁市": "青秀区 西乡塘区 武鸣区* 横州市 宾阳县",
        "桂林市": "秀峰区 七星区 临桂区* 阳朔县 全州县",
    },
    "福建省": {
        "福州市": "鼓楼区 仓山区 长乐区* 闽侯县 福清市",
        "厦门市": "思明区 湖里区 集美区* 同安区* 翔安区*",
    },
    "四川省": {
        "成都市": "锦江区 武侯区 成华区 双流区* 郫都区* 金堂县 大邑县",
        "绵阳市": "涪城区 游仙区* 江油市 三台县 梓潼县",
        "南充市": "顺庆区 高坪区* 阆中市 营山县 仪陇县",
    },
    "重庆市": {"重庆市": "渝中区 江北区 南岸区 万州区* 涪陵区* 巫山县 奉节县"},
    "云南省": {
        "昆明市": "五华区 官渡区 呈贡区* 宜良县 石林彝族自治县",
        "大理白族自治州": "大理市 祥云县 宾川县 弥渡县",
    },
    "湖北省": {
        "武汉市": "江岸区 武昌区 洪山区 黄陂区* 新洲区*",
        "宜昌市": "西陵区 夷陵区* 当阳市 秭归县 远安县",
    },
    "河南省": {
        "郑州市": "金水区 二七区 管城回族区 新郑市 中牟县 登封市",
        "洛阳市": "西工区 涧西区 偃师区* 栾川县 嵩县",
    },
    "湖南省": {
        "长沙市": "岳麓区 芙蓉区 天心区 望城区* 浏阳市 宁乡市",
        "衡阳市": "蒸湘区 石鼓区 衡南县 衡东县 祁东县",
    },
    "北京市": {"北京市": "朝阳区 海淀区 丰台区 东城区 通州区* 昌平区* 密云区*"},
    "河北省": {
        "石家庄市": "长安区 桥西区 正定县 赞皇县 平山县",
        "保定市": "竞秀区 莲池区 涿州市 阜平县 易县",
    },
}


def geography() -> pd.DataFrame:
    """One row per district: province, city, district and its kind (0 urban, 1 outer, 2 county)."""
    rows = []
    for province, cities in GEOGRAPHY.items():
        for city, districts in cities.items():
            for d in districts.split():
                name = d.rstrip("*")
                # 0 core urban district, 1 outer district or county-level city, 2 county
                kind = (
                    2 if name.endswith("县") else 1 if d.endswith("*") or name.endswith("市") else 0
                )
                rows.append((province, city, name, kind))
    return pd.DataFrame(rows, columns=["province", "city", "district", "kind"])
